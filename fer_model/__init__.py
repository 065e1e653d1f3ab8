"""Facial emotion recognition on FER2013: photo -> faces -> 48x48 crops -> probabilities -> heat maps."""

from .classifier import EmotionClassifier
from .explain import CAM_METHODS, DEFAULT_CAM_METHOD, REGIONS, heatmap_on_photo
from .faces import DetectionSettings
from .image_io import CorruptImageError, EmptyFileError, ImageError, ImageTooLargeError, NotAnImageError, load_image
from .model import DEFAULT_WEIGHTS
from .pipeline import FaceResult, PhotoResult, analyze, explain_face
from .report import annotate_photo, overlay_heatmap, result_to_dict, results_to_csv


def load_classifier(path=DEFAULT_WEIGHTS) -> EmotionClassifier:
    """The shipped (or given) weights as a thread-safe :class:`EmotionClassifier`."""
    return EmotionClassifier.load(path)


__all__ = [
    "CAM_METHODS",
    "DEFAULT_CAM_METHOD",
    "DEFAULT_WEIGHTS",
    "CorruptImageError",
    "DetectionSettings",
    "EmotionClassifier",
    "EmptyFileError",
    "FaceResult",
    "ImageError",
    "ImageTooLargeError",
    "NotAnImageError",
    "PhotoResult",
    "REGIONS",
    "analyze",
    "annotate_photo",
    "explain_face",
    "heatmap_on_photo",
    "load_classifier",
    "load_image",
    "overlay_heatmap",
    "result_to_dict",
    "results_to_csv",
]
