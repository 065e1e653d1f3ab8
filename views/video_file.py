"""A video file in, each person's emotions over time out: the annotated video, a timeline chart per person,
a summary table and downloads (annotated video, CSV, JSON).

The analysis runs once per file and settings; its outputs stay in ``st.session_state.video``, so moving a
display widget reruns the page without analysing again. The upload and the annotated video stay in memory,
apart from the annotated video's few moments in a temporary folder while it is encoded.
"""

import json
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from fer_model.video import VideoError, VideoLimits, VideoResult, VideoSettings, analyze_video, frames_csv, summary

from .common import Options, analysis_slots, classifier, escape, release_memory

log = logging.getLogger(__name__)

VIDEO_TYPES = ["mp4", "mov", "webm", "mkv", "avi"]
MAX_VIDEO_MB = 200
LIMITS = VideoLimits(max_seconds=300.0)  # analysis runs at about real time on 2 cores; 5 minutes at most
UPLOAD_RULES = (
    f"One video, up to {MAX_VIDEO_MB} MB and {LIMITS.max_seconds / 60:.0f} minutes: MP4, MOV, WebM, MKV or AVI."
)
ANALYSIS_FAILED = "something went wrong while analysing it; please try another video"
HELP_EVERY = "The face detector runs on every k-th frame; faces are followed in between. Lower is slower."
HELP_RAW = "Show each frame's own probabilities instead of their moving average (half a second)."


@dataclass(frozen=True, eq=False)
class VideoAnalysis:
    """What the page shows and offers for one analysed video."""

    result: VideoResult
    video: bytes  # the annotated MP4
    csv: str
    json: str


def show(options: Options) -> None:
    """The video input, a progress bar while it is analysed, then its results."""
    upload = st.file_uploader("Video", type=VIDEO_TYPES, max_upload_size=MAX_VIDEO_MB, key="video-upload")
    st.caption(UPLOAD_RULES)
    every = st.slider("Detect faces every k frames", 1, 15, 5, key="video-every", help=HELP_EVERY)
    if upload is None:
        return
    settings = VideoSettings(
        every=every,
        explain=options.heatmaps,
        cam_method=options.cam_method,
        tta=options.tta,
        detection=replace(VideoSettings().detection, threshold=options.threshold),
    )
    key = (upload.name, upload.size, settings)
    stored = st.session_state.get("video", {})
    if key not in stored:
        stored = None  # the previous video's results are freed before the next one is analysed
        st.session_state.video = {}
        release_memory()
        stored = {key: _analyse(upload.getvalue(), settings)}
        st.session_state.video = stored  # read by the tests
    analysis = stored[key]
    if isinstance(analysis, str):
        st.error(f"Cannot use {escape(upload.name)}: {analysis}.")
        return
    _show_results(upload.name, analysis)


def _analyse(content: bytes, settings: VideoSettings) -> VideoAnalysis | str:
    """The analysis, or the sentence to show when the video cannot be analysed."""
    bar = st.progress(0.0, text="Waiting for the analysis slot…")

    def progress(done: int, expected: int | None) -> None:
        fraction = min(done / expected, 1.0) if expected else 0.0
        bar.progress(fraction, text=f"Analysing frame {done}" + (f" of {expected}" if expected else ""))

    try:
        with analysis_slots(), tempfile.TemporaryDirectory(prefix="fer-video-") as folder:
            annotated = Path(folder) / "annotated.mp4"
            result = analyze_video(
                content, classifier(), settings, limits=LIMITS, annotated=annotated, progress=progress
            )
            video = annotated.read_bytes()
    except VideoError as error:
        return str(error)
    except Exception:
        log.exception("Analysing a video failed")  # the traceback only: no file name or pixels
        return ANALYSIS_FAILED
    finally:
        bar.empty()
    return VideoAnalysis(result, video, frames_csv(result), json.dumps(summary(result), indent=2))


def _show_results(name: str, analysis: VideoAnalysis) -> None:
    result = analysis.result
    st.subheader(escape(name))
    st.caption(
        f"{result.frame_count} frames, {result.duration_s:.1f} s, {len(result.tracks)} people; "
        f"analysed at {result.frames_per_second:.1f} frames/s."
    )
    video_column, table_column = st.columns([3, 2])
    video_column.video(analysis.video, format="video/mp4")
    with table_column:
        _downloads(Path(name).stem, analysis)
        if result.tracks:
            st.dataframe(_summary_rows(analysis), hide_index=True, key="video-summary")
    if not result.tracks:
        st.info("No face found in this video. Faces should be at least a tenth of the picture's height.")
        return
    raw = st.toggle("Per-frame values (not smoothed)", key="video-raw", help=HELP_RAW)
    for series in result.tracks:
        st.plotly_chart(
            _timeline(series, result.duration_s, raw),
            key=f"video-timeline-{series.track}",
            config={"displayModeBar": False},
        )


def _downloads(stem: str, analysis: VideoAnalysis) -> None:
    downloads = [
        ("Annotated video (MP4)", analysis.video, "mp4", "video/mp4"),
        ("Frames (CSV)", analysis.csv, "csv", "text/csv"),
        ("Summary (JSON)", analysis.json, "json", "application/json"),
    ]
    with st.container(horizontal=True):
        for label, data, extension, mime in downloads:
            file_name = f"{stem}-emotions.{extension}"
            st.download_button(label, data, file_name, mime, key=f"video-{extension}", on_click="ignore")


def _summary_rows(analysis: VideoAnalysis) -> list[dict]:
    """One row per person: time on screen, top emotion and its share of the time, mean probabilities."""
    rows = []
    for track in json.loads(analysis.json)["tracks"]:
        top = track["top_emotion"]
        row = {
            "person": track["track"],
            "on screen (s)": track["time_on_screen_s"],
            "top emotion": f"{top} ({track['time_share'][top]:.0%})",
        }
        row.update({emotion: round(p, 3) for emotion, p in track["mean_probabilities"].items()})
        rows.append(row)
    return rows


def _timeline(series, duration_s: float, raw: bool) -> go.Figure:
    """Person ``series.track``'s seven probabilities over time, one line each."""
    values = series.probabilities if raw else series.smoothed
    figure = go.Figure(
        [
            go.Scatter(
                x=series.times_s,
                y=values[:, i],
                name=emotion,
                mode="lines",
                line={"width": 2},
            )
            for i, emotion in enumerate(series.emotions)
        ]
    )
    figure.update_layout(
        title=f"Person {series.track}" + (" (per frame)" if raw else " (smoothed)"),
        height=260,
        margin={"l": 0, "r": 0, "t": 32, "b": 0},
        xaxis={"title": "time (s)", "range": [0, duration_s]},
        yaxis={"range": [0, 1], "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure
