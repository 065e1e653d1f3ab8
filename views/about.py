"""How the model works and its limits, with the shipped weights' test scores."""

import json
from pathlib import Path

import streamlit as st

from fer_model import DEFAULT_WEIGHTS

METRICS = Path(DEFAULT_WEIGHTS).with_name("publictest_metrics.json")  # `evaluate --json` of the weights
HOW_IT_WORKS = """
**Pipeline.** MTCNN finds each face and its eye, nose and mouth landmarks; the face is aligned, turned
to grayscale and shrunk to 48x48 pixels, the format of the FER2013 dataset the model was trained on.
A small CNN gives a probability for each of the seven emotions ({emotions}). The probabilities are
calibrated (a scale and an offset per emotion, fitted on held-out faces); how well they match how
often the model is right (its calibration error) is measured in the model card.

**The heat map** (Grad-CAM and its relatives) shows which parts of the 48x48 face raised the score of
the chosen emotion the most. It shows where the model looked, not why, and it is coarse: one heat
value covers several pixels. The region shares add the heat up over eyes and brows, nose, mouth and
the rest of the face.

**Limits.** The model reads facial *expressions*, not what a person feels. FER2013 is web photos
with noisy labels, few "disgust" faces and an uneven mix of ages and skin tones, so the model is less
reliable outside that mix; side views, small or blurred faces and sunglasses hurt it further.
Do not use it to make decisions about people.
"""


def _test_scores() -> str:
    """The shipped weights' PublicTest scores, from the `evaluate` output stored beside them."""
    if not METRICS.exists():
        return "*(the PublicTest metrics are not on this server)*"
    metrics = json.loads(METRICS.read_text(encoding="utf-8"))
    return (
        f"On FER2013 PublicTest ({metrics['n']:,} faces): accuracy {metrics['accuracy']:.1%}, "
        f"macro-F1 {metrics['macro_f1']:.1%}, calibration error (ECE) {metrics['ece']:.1%}. "
        "Details in the model card, `weights/MODEL_CARD.md`."
    )


def how_it_works(emotions: tuple[str, ...]) -> None:
    with st.expander("How it works, and its limits"):
        st.markdown(HOW_IT_WORKS.format(emotions=", ".join(emotions)))
        st.markdown(_test_scores())
