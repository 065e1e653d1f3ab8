"""What the views share: the model loaded once per server, the server-wide analysis slot, the sidebar settings,
Markdown escaping and handing freed memory back to the system."""

import ctypes
import gc
import re
import sys
import threading
from typing import NamedTuple

import streamlit as st

from fer_model import CAM_METHODS, DEFAULT_CAM_METHOD, DetectionSettings, EmotionClassifier, load_classifier

# Analyses run at the same time by the whole server: a 40-megapixel photo takes about 300 MB while it is
# decoded and analysed, so this bounds the peak however many visitors upload at once (and 2 keep 2 cores busy).
ANALYSIS_SLOTS = 1
MMAP_THRESHOLD = 2**20  # bytes; see tune_malloc
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
HELP = {
    "threshold": "How sure the face detector must be. Lower finds more faces, and more false ones.",
    "min_face_size": "Smaller faces are ignored; raise it to skip faces in the background.",
    "tta": "Average each prediction with the mirrored face's.",
    "heatmaps": "Explain each prediction with a heat map (a little slower).",
}


class Options(NamedTuple):
    """The sidebar settings that change the analysis (part of each cached result's key).

    A tuple, not a dataclass: results stored by earlier runs compare equal to the keys of later ones.
    """

    threshold: float
    min_face_size: int
    tta: bool
    heatmaps: bool
    cam_method: str


@st.cache_resource(show_spinner="Loading the emotion model…")
def classifier() -> EmotionClassifier:
    return load_classifier()


@st.cache_resource
def analysis_slots() -> threading.BoundedSemaphore:
    """Shared by every session: at most ANALYSIS_SLOTS analyses (photos, video files, live frames) at once.
    The classifier's Grad-CAM hooks are attached per call, so it must not run two analyses at once either."""
    return threading.BoundedSemaphore(ANALYSIS_SLOTS)


def escape(text: str) -> str:
    """``text`` shown as it is by Streamlit's Markdown (a file name like ``**a** [b](c).jpg``)."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)  # CommonMark lets any ASCII punctuation be escaped


def sidebar() -> Options:
    defaults = DetectionSettings()
    methods = list(CAM_METHODS)
    with st.sidebar:
        st.header("Settings")
        threshold = st.slider("Detection threshold", 0.5, 0.99, defaults.threshold, step=0.01, help=HELP["threshold"])
        min_face_size = st.slider(
            "Minimum face size (pixels)", 10, 200, defaults.min_face_size, step=5, help=HELP["min_face_size"]
        )
        tta = st.toggle("Test-time augmentation", True, help=HELP["tta"])
        heatmaps = st.toggle("Heat maps", True, help=HELP["heatmaps"], key="heat-maps")
        cam_method = st.selectbox(
            "CAM method", methods, index=methods.index(DEFAULT_CAM_METHOD), disabled=not heatmaps, key="cam-method"
        )
    return Options(threshold, min_face_size, tta, heatmaps, cam_method)


def release_memory() -> None:
    """Hand the memory of decoded photos back to the system: glibc keeps freed memory for reuse, in one
    arena per thread (and Streamlit runs each session in its own), so without the trim the server only grows."""
    gc.collect()
    if (libc := _glibc()) is not None:
        libc.malloc_trim(0)


@st.cache_resource
def tune_malloc() -> None:
    """Once per server: blocks over MMAP_THRESHOLD (decoded photos, the detector's tensors) get mappings of their
    own, handed back as soon as they are freed. By default glibc raises the threshold as large blocks are freed,
    and then keeps them in the arena of the session thread that used them."""
    if (libc := _glibc()) is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def _glibc() -> ctypes.CDLL | None:
    """The C library where it is glibc (Linux); None elsewhere (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
