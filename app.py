"""The web page: photos, video files or the live camera in, every face's emotions and heat maps out.

A thin entry point: each input has its view in :mod:`views` (which renders), and :mod:`fer_model` computes.
Photos and videos stay in memory or in temporary files that are deleted at once; nothing is logged.
Run it with ``streamlit run app.py``.
"""

import logging

import streamlit as st

from views import live, photo, video_file
from views.about import how_it_works
from views.common import classifier, sidebar, tune_malloc

log = logging.getLogger(__name__)

PAGE_FAILED = "Something went wrong on this page. Please reload it."
INPUTS = {"Photo": photo.show, "Video file": video_file.show, "Live camera": live.show}


def main() -> None:
    st.set_page_config(page_title="Facial emotion recognition", page_icon=":material/mood:", layout="wide")
    st.title("Facial emotion recognition")
    st.caption(
        "Find every face in a photo, a video or the camera's picture and read its expression. "
        "Nothing you give is stored."
    )
    tune_malloc()
    options = sidebar()
    source = st.radio("Input", list(INPUTS), horizontal=True, key="input")
    INPUTS[source](options)
    how_it_works(classifier().emotions)


try:
    main()
except Exception:
    log.exception("The page failed")
    st.error(PAGE_FAILED)
