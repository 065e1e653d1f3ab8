"""The page's views, one module per input: :mod:`views.photo`, :mod:`views.video_file`, :mod:`views.live`.

They render; :mod:`fer_model` computes. :mod:`views.common` holds what they share: the model loaded once per
server, the server-wide analysis slot, the sidebar settings and the memory hand-back.
"""
