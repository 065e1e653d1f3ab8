"""The live camera: the visitor's webcam streamed to the server (streamlit-webrtc), each frame annotated there
and sent back, and the current reading per person beside the video.

Works offline on localhost with no STUN or TURN server. For visitors on other networks, give ICE servers as
JSON in the environment variable FER_ICE_SERVERS or as ``ice_servers`` in ``.streamlit/secrets.toml``
(see the README's "Live camera" section).
"""

import json
import logging
import os
import threading

import streamlit as st
from streamlit_webrtc import webrtc_streamer

from .common import Options, analysis_slots, classifier
from .live_session import LiveSession, LiveSnapshot

log = logging.getLogger(__name__)

ICE_SERVERS_ENV = "FER_ICE_SERVERS"
HELP_HEATMAPS = "Blend each face's heat map into the returned video (slower)."
INTRO = (
    "Press **Start** and allow the camera. Frames are analysed on the server and sent straight back, with the reading"
    " per person beside the picture; none is stored."
)


def show(options: Options) -> None:
    _warm_up()
    session = _session()
    heatmaps = st.checkbox("Heat maps on the faces", key="live-heatmaps", help=HELP_HEATMAPS)
    session.set_heatmaps(heatmaps, options.cam_method)
    st.caption(INTRO)
    webrtc_streamer(
        key="live",
        video_frame_callback=session.callback,
        media_stream_constraints={"video": True, "audio": False},
        rtc_configuration={"iceServers": ice_servers()},
    )
    _statistics(session)


@st.cache_resource(show_spinner="Loading the face detector…")
def _warm_up() -> None:
    """Once per server, before any stream: the detector loaded and every model path run once. streamlit-webrtc
    ends a stream whose callback takes over 10 s, which a cold first frame can on a busy machine."""
    with analysis_slots():
        LiveSession(classifier(), threading.Lock()).warm_up()


def _session() -> LiveSession:
    """This visitor's stream state, made once per session (the callback keeps working across reruns)."""
    if "live-session" not in st.session_state:
        st.session_state["live-session"] = LiveSession(classifier(), analysis_slots())
    return st.session_state["live-session"]


def ice_servers() -> list[dict]:
    """STUN/TURN servers for WebRTC: from $FER_ICE_SERVERS (a JSON list), else the ``ice_servers`` secret,
    else none, which is all a browser on the same machine or network needs."""
    if text := os.environ.get(ICE_SERVERS_ENV):
        try:
            servers = json.loads(text)
        except json.JSONDecodeError:
            log.warning("%s is not JSON; using no ICE servers", ICE_SERVERS_ENV)
            return []
        return servers if isinstance(servers, list) else [servers]
    try:
        return [dict(server) for server in st.secrets.get("ice_servers", [])]
    except Exception:  # no secrets file, or one that does not parse
        return []


# Redrawn when asked, not on a timer: every Streamlit rerun stalls the stream (see live_session).
@st.fragment
def _statistics(session: LiveSession) -> None:
    snapshot = session.snapshot()
    with st.container(key="live-reading"):
        st.button("Update", key="live-update")
        st.markdown("**Latest reading**")
        if not snapshot.readings:
            st.caption("No face on the latest frame." if snapshot.frames else "Waiting for the camera.")
        for reading in snapshot.readings:
            probability = reading.probabilities[reading.top_emotion]
            st.markdown(f"Person {reading.track}: **{reading.top_emotion}** ({probability:.0%})")
            st.progress(probability)
        st.caption(_rates(snapshot))


def _rates(snapshot: LiveSnapshot) -> str:
    text = f"{snapshot.frames_per_s:.1f} frames/s analysed and returned, {snapshot.frames} frames analysed"
    return text + (f", {snapshot.busy_frames} sent back unannotated (server busy)" if snapshot.busy_frames else "")
