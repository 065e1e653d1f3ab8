"""Photos in (uploads, a camera snapshot or the sample), every face's emotion probabilities and heat maps out.

Photos stay in memory; they are never written to disk or logged.
"""

import hashlib
import io
import json
import logging
import weakref
from collections import Counter
from dataclasses import replace
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from PIL import Image
from skimage import data as skimage_data

from fer_model import (
    REGIONS,
    DetectionSettings,
    FaceResult,
    ImageError,
    PhotoResult,
    analyze,
    annotate_photo,
    explain_face,
    overlay_heatmap,
    result_to_dict,
    results_to_csv,
)

from .common import Options, analysis_slots, classifier, escape, release_memory

log = logging.getLogger(__name__)

CROP_SIDE = 192  # the 48x48 crop shown 4x larger, nearest neighbour, so its pixels stay visible
PHOTO_SIDE = 1600  # the session keeps the photo at most this large, for the page and the annotated download
MAX_FILES = 10  # photos analysed per upload
MAX_FILE_MB = 25  # per photo; larger files get a visible refusal
# The uploader itself takes files up to this size, so that files over MAX_FILE_MB reach the page and get a
# visible message: the uploader's own refusals only show when the mouse is over the file's red icon.
TRANSFER_LIMIT_MB = 4 * MAX_FILE_MB
UPLOAD_RULES = (
    f"Up to {MAX_FILES} photos at a time, {MAX_FILE_MB} MB each: JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP or TIFF."
)
HIGHLIGHT, MUTED = "#2563eb", "#cbd5e1"
SAMPLE_HELP = "A photo from scikit-image, shown while you have not given one of your own."
ANALYSIS_FAILED = "something went wrong while analysing it; please try another photo"
NO_FACE = """No face found in **{name}**. Some tips:
- a well-lit photo, with no strong shadow or backlight on the face;
- faces looking roughly at the camera (frontal), not hidden by hands, hair or masks;
- faces at least {min_face_size} pixels wide, or a lower *minimum face size* in the sidebar;
- a lower *detection threshold* in the sidebar finds harder faces (and some false ones)."""
TOO_SMALL = """

The picture is only {width}x{height} pixels: smaller than the minimum face size ({min_face_size} pixels), \
so it cannot hold a face that size."""
TOO_MANY_FILES = "{count} photos given: only the first {limit} are analysed. Remove some to analyse the others."
TOO_LARGE = "Cannot use {name}: the file is {size:.1f} MB; the limit is {limit} MB."
# The uploader's drop zone states the uploader's own size limit; UPLOAD_RULES states the page's instead.
HIDE_UPLOADER_LIMIT = "<style>[data-testid='stFileUploaderDropzoneInstructions'] {display: none}</style>"


class _SessionMemory:
    """One visitor's results. Streamlit keeps a closed tab's session for a while (server.disconnectedSessionTTL)
    in case it reconnects, and only then frees it; the results are freed as soon as the tab closes."""

    def __init__(self):
        self.analyses: dict = {}

    def release(self) -> None:
        self.analyses.clear()  # also empties st.session_state.analyses, the same dict
        release_memory()


@st.cache_resource(scope="session", on_release=_SessionMemory.release, show_spinner=False)
def _session_memory() -> _SessionMemory:
    """This session's results; Streamlit releases them when the visitor's browser disconnects."""
    return _SessionMemory()


@st.cache_data(show_spinner=False)
def _sample_photo() -> bytes:
    return _png(Image.fromarray(skimage_data.astronaut()))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _photos() -> list[tuple[str, bytes]]:
    """The visitor's photos as (name, content); the sample photo when they have given none.

    Every refusal (too many files, a file too large) is shown as a message; a file of the wrong type
    is refused by the analysis, which names the problem.
    """
    upload_column, other_column = st.columns([3, 1])
    uploads = upload_column.file_uploader(
        "Photos", accept_multiple_files=True, max_upload_size=TRANSFER_LIMIT_MB, key="photos"
    )
    upload_column.caption(UPLOAD_RULES)
    st.html(HIDE_UPLOADER_LIMIT)
    if other_column.button("Try a sample photo", icon=":material/photo:", key="sample-button", help=SAMPLE_HELP):
        st.session_state.show_sample = True
    snapshot = st.camera_input("Take a photo") if other_column.toggle("Use the camera", key="use-camera") else None
    uploads = uploads or []
    if len(uploads) > MAX_FILES:
        st.warning(TOO_MANY_FILES.format(count=len(uploads), limit=MAX_FILES))
    photos = []
    for upload in uploads[:MAX_FILES]:
        if upload.size > MAX_FILE_MB * 2**20:
            st.error(TOO_LARGE.format(name=escape(upload.name), size=upload.size / 2**20, limit=MAX_FILE_MB))
        else:
            photos.append((upload.name, upload.getvalue()))
    if snapshot is not None:
        photos.append(("camera.jpg", snapshot.getvalue()))
    if not photos and st.session_state.get("show_sample"):
        photos.append(("sample-astronaut.png", _sample_photo()))
    return photos


def _analyse(content: bytes, options: Options) -> PhotoResult | str:
    """The result, holding a copy of the photo no larger than PHOTO_SIDE; or the sentence to show when the
    photo cannot be analysed."""
    try:
        with analysis_slots():
            result = analyze(
                content,
                classifier(),
                settings=DetectionSettings(threshold=options.threshold, min_face_size=options.min_face_size),
                tta=options.tta,
                explain=options.heatmaps,
                cam_method=options.cam_method,
            )
    except ImageError as error:
        return str(error)
    except Exception:
        log.exception("Analysing a photo failed")  # the traceback only: no file name or pixels
        return ANALYSIS_FAILED
    return replace(result, photo=_display_copy(result.photo))  # the full-size photo is freed on return


def _display_copy(photo: Image.Image) -> Image.Image:
    scale = PHOTO_SIDE / max(photo.size)
    if scale >= 1:
        return photo
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    return photo.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _analyses(photos: list[tuple[str, bytes]], options: Options) -> dict[tuple, tuple[str, PhotoResult | str]]:
    """{(content hash, options): (name, result or error sentence)}, kept in the session so reruns reuse them.

    Only the current photos and settings are kept, so a long session does not pile up results.
    """
    analyses = _session_memory().analyses
    previous = dict(analyses)
    analyses.clear()
    for name, content in photos:
        key = (hashlib.sha256(content).hexdigest()[:16], options)
        if key in analyses:  # the same photo given twice
            continue
        if key in previous:
            analyses[key] = previous[key]
        else:
            with st.spinner(f"Analysing {escape(name)}…"):
                analyses[key] = name, _analyse(content, options)
    st.session_state.analyses = analyses  # read by the tests
    if analyses.keys() != previous.keys():
        del previous
        release_memory()
    return analyses


def _bar_chart(labels: list[str], values: list[float], highlight: str | None, title: str) -> go.Figure:
    colors = [HIGHLIGHT if label == highlight else MUTED for label in labels]
    figure = go.Figure(
        go.Bar(x=labels, y=values, marker_color=colors, text=[f"{v:.0%}" for v in values], textposition="outside")
    )
    figure.update_layout(
        title=title,
        height=230,
        margin={"l": 0, "r": 0, "t": 32, "b": 0},
        showlegend=False,
        yaxis={"range": [0, 1.15], "tickformat": ".0%", "showgrid": False},
    )
    return figure


def _face_card(key: tuple, face: FaceResult, emotions: tuple[str, ...], opacity: float, options: Options) -> FaceResult:
    """One face: crop, heat map, probabilities and region shares. Returns the face as explained."""
    digest = key[0]
    with st.container(border=True, key=f"face-card-{digest}-{face.index}"):
        st.markdown(f"**Face {face.index}: {face.top_emotion}** ({face.probabilities[face.top_emotion]:.0%})")
        crop_column, heat_column, chart_column, region_column = st.columns([1, 1, 2, 1.5])
        crop = Image.fromarray(face.crop).resize((CROP_SIDE, CROP_SIDE), Image.Resampling.NEAREST)
        crop_column.image(crop, caption="What the model saw (48x48)")
        chart_column.plotly_chart(
            _bar_chart(list(emotions), [face.probabilities[e] for e in emotions], face.top_emotion, "Probabilities"),
            key=f"{digest}-probabilities-{face.index}",
            config={"displayModeBar": False},
        )
        if not options.heatmaps:
            heat_column.caption("Heat maps are off (see the sidebar).")
            return face
        emotion = crop_column.selectbox(
            "Explain which emotion",
            emotions,
            index=emotions.index(face.top_emotion),
            key=f"{digest}-explain-{face.index}",
        )
        if emotion != face.heatmap_emotion:  # one small backward pass (about 10 ms), so not cached
            face = explain_face(classifier(), face, emotion, method=options.cam_method)
        heat_column.image(overlay_heatmap(crop, face.heatmap, opacity), caption=f"Heat map for {emotion}")
        region_column.plotly_chart(
            _bar_chart(
                [region.replace("_", " and ") for region in REGIONS],  # eyes_brows: "eyes and brows"
                [face.region_shares[region] for region in REGIONS],
                None,
                "Heat by region",
            ),
            key=f"{digest}-regions-{face.index}",
            config={"displayModeBar": False},
        )
    return face


def _summary(faces: list[FaceResult], emotions: tuple[str, ...]) -> str:
    counts = Counter(face.top_emotion for face in faces)
    return f"**{len(faces)} faces:** " + ", ".join(f"{counts[e]} {e}" for e in emotions if counts[e])


def _no_face(name: str, result: PhotoResult, options: Options) -> str:
    """The no-face tips, and why when the picture is smaller than the minimum face size."""
    text = NO_FACE.format(name=escape(name), min_face_size=options.min_face_size)
    if min(result.width, result.height) < options.min_face_size:
        text += TOO_SMALL.format(width=result.width, height=result.height, min_face_size=options.min_face_size)
    return text


def _show_photo(key: tuple, name: str, result: PhotoResult, options: Options) -> None:
    digest = key[0]
    st.subheader(escape(name))
    if not result.faces:
        st.info(_no_face(name, result, options))
        return
    emotions = classifier().emotions
    opacity, whole_photo = 0.5, False
    if options.heatmaps:
        slider_column, toggle_column = st.columns(2)
        opacity = slider_column.slider("Heat-map opacity", 0.0, 1.0, 0.5, 0.05, key=f"{digest}-opacity")
        whole_photo = toggle_column.toggle("Heat maps over the whole photo", key=f"{digest}-whole-photo")
    photo_slot, downloads_slot = st.container(), st.container()
    if len(result.faces) > 1:
        st.markdown(_summary(result.faces, emotions))
    faces = [_face_card(key, face, emotions, opacity, options) for face in result.faces]
    shown = replace(result, faces=faces)
    heat_opacity = opacity if whole_photo else 0.0
    photo_slot.image(annotate_photo(shown, heatmap_opacity=heat_opacity), output_format="JPEG")
    stem = Path(name).stem
    # The PNG is made only when its button is clicked. Streamlit keeps that function for as long as it keeps the
    # session, after the visitor has left too, so it holds the photo by a weak reference.
    stored = weakref.ref(result)
    downloads = [
        ("Annotated photo (PNG)", lambda: _annotated_png(stored(), faces, heat_opacity), "png", "image/png"),
        ("Results (JSON)", json.dumps(result_to_dict(shown), indent=2), "json", "application/json"),
        ("Results (CSV)", results_to_csv([(name, shown)]), "csv", "text/csv"),
    ]
    with downloads_slot.container(horizontal=True):
        for label, data, extension, mime in downloads:
            file_name = f"{stem}-emotions.{extension}"
            st.download_button(label, data, file_name, mime, key=f"{digest}-{extension}", on_click="ignore")


def _annotated_png(result: PhotoResult | None, faces: list[FaceResult], heatmap_opacity: float) -> bytes:
    """The annotated photo as PNG bytes; empty once the session's results are gone."""
    if result is None:
        return b""
    return _png(annotate_photo(replace(result, faces=faces), heatmap_opacity=heatmap_opacity))


def show(options: Options) -> None:
    """The photo input and a result per photo."""
    for key, (name, analysis) in _analyses(_photos(), options).items():
        if isinstance(analysis, str):
            st.error(f"Cannot use {escape(name)}: {analysis}.")
        else:
            _show_photo(key, name, analysis, options)
