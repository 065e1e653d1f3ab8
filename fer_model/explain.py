"""Why the model chose an emotion: class activation maps on the crops, per-region shares, and the photo view.

The maps come from pytorch-grad-cam, run on the classifier's :meth:`~EmotionClassifier.cam_model`: the
feature maps of the last convolution stage go in, so the forward pass through the convolutions (shared
with classification when the caller has the features) is not repeated and the backward pass covers only
the small head. The hooks live on a module made for each call and are released in a ``with`` block.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from .classifier import EmotionClassifier
from .faces import transform_points

# Class-discriminative methods only (EigenCAM and the like explain no particular class). HiResCAM and
# XGradCAM are left out: global average pooling follows the target layer, so its gradients are the same
# at every position and both give exactly the Grad-CAM map.
CAM_METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "layercam": LayerCAM}
DEFAULT_CAM_METHOD = "gradcam"
REGIONS = ("eyes_brows", "nose", "mouth", "rest")


def heatmaps(
    classifier: EmotionClassifier,
    crops: np.ndarray,
    emotions: list[str],
    method: str = DEFAULT_CAM_METHOD,
    features: torch.Tensor | None = None,
) -> np.ndarray:
    """Heat maps float32 (N, 48, 48) in [0, 1] for uint8 (N, 48, 48) crops, one named emotion per crop.

    Each map is scaled so its maximum is 1 (all zeros when nothing supports the emotion). The map is
    computed on the crop as given, without the mirror averaging used for the probabilities.
    ``features``: the crops' feature maps from :meth:`EmotionClassifier.classify`, when the caller has them.
    """
    if method not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {method!r}; expected one of {', '.join(CAM_METHODS)}")
    unknown = sorted(set(emotions) - set(classifier.emotions))
    if unknown:
        raise ValueError(f"unknown emotion(s) {', '.join(unknown)}; expected one of {', '.join(classifier.emotions)}")
    if len(emotions) != len(crops):
        raise ValueError(f"got {len(crops)} crops but {len(emotions)} emotions")
    if len(crops) == 0:
        return np.zeros((0, *np.shape(crops)[1:]), dtype=np.float32)
    if features is None:
        features = classifier.classify(classifier.to_input(crops), tta=False)[1]
    targets = [ClassifierOutputTarget(classifier.emotions.index(emotion)) for emotion in emotions]
    model = classifier.cam_model()
    inputs = features.clone().requires_grad_()  # a normal tensor: the hooks need its gradient
    with torch.enable_grad(), CAM_METHODS[method](model=model, target_layers=[model[0]]) as cam:
        maps = cam(input_tensor=inputs, targets=targets)  # (N, h, w), each scaled to [0, 1]
    # Upsampled to the crop, then rescaled to [0, 1]: what pytorch-grad-cam does for a layer inside the network.
    upsampled = scale_cam_image(maps, np.shape(crops)[-2:][::-1])
    return scale_cam_image(upsampled).astype(np.float32).clip(0, 1)


def region_shares(heatmap: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """Share of the heat in each of :data:`REGIONS`, summing to 1.

    ``heatmap``: (H, W), non-negative; ``landmarks``: (5, 2) in the same crop's pixels, eyes level
    (as :func:`fer_model.faces.align_face` makes them). A map without heat counts as uniform.
    """
    heat = np.asarray(heatmap, dtype=np.float64)
    masks = _region_masks(np.asarray(landmarks, dtype=np.float64), heat.shape)
    weights = heat if heat.sum() > 0 else np.ones_like(heat)
    return {region: float(weights[mask].sum() / weights.sum()) for region, mask in masks.items()}


def face_region_shares(heatmap: np.ndarray, photo_to_crop: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """:func:`region_shares` of a face's heat map, from its landmarks in photo pixels and the (2, 3) affine
    that made its crop (:func:`fer_model.faces.align_face`)."""
    return region_shares(heatmap, transform_points(photo_to_crop, landmarks))


def _region_masks(landmarks: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Disjoint boolean masks over a crop: three stacked boxes sized in interocular distances."""
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarks
    unit = np.linalg.norm(right_eye - left_eye)
    eye_y, mouth_y = (left_eye[1] + right_eye[1]) / 2, (mouth_left[1] + mouth_right[1]) / 2
    # Row bands from the brows down to below the lower lip; the nose/mouth split is halfway between them.
    top, eyes_end, nose_end, bottom = np.maximum.accumulate(
        [eye_y - 0.6 * unit, eye_y + 0.3 * unit, (nose[1] + mouth_y) / 2, mouth_y + 0.4 * unit]
    )
    y, x = np.mgrid[: shape[0], : shape[1]] + 0.5  # pixel centres

    def box(x1, x2, y1, y2):
        return (x >= x1) & (x < x2) & (y >= y1) & (y < y2)

    masks = {
        "eyes_brows": box(left_eye[0] - 0.5 * unit, right_eye[0] + 0.5 * unit, top, eyes_end),
        "nose": box(nose[0] - 0.35 * unit, nose[0] + 0.35 * unit, eyes_end, nose_end),
        "mouth": box(mouth_left[0] - 0.3 * unit, mouth_right[0] + 0.3 * unit, nose_end, bottom),
    }
    masks["rest"] = ~(masks["eyes_brows"] | masks["nose"] | masks["mouth"])
    return masks


def heatmap_on_photo(heatmap: np.ndarray, photo_to_crop: np.ndarray, photo_size: tuple[int, int]) -> np.ndarray:
    """A crop's (48, 48) heat map drawn onto the photo: float32 (h, w) in [0, 1], zero outside the crop.

    ``photo_to_crop`` is the (2, 3) affine from :func:`fer_model.faces.align_face`; ``photo_size`` is (w, h).
    """
    crop_map = Image.fromarray(np.asarray(heatmap, dtype=np.float32))
    # PIL's affine maps each output (photo) pixel to where it samples the input (crop): photo_to_crop itself.
    photo_map = crop_map.transform(
        photo_size, Image.Transform.AFFINE, tuple(photo_to_crop.ravel()), Image.Resampling.BILINEAR, fillcolor=0
    )
    return np.asarray(photo_map).clip(0, 1)
