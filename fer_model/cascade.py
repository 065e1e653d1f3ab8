"""MTCNN's three-stage cascade on one image, over facenet-pytorch's networks and box helpers.

facenet-pytorch's ``detect_face`` hands every candidate its first network proposes to the second: by the
hundred on a group photo, each cropped and resized one by one, a large part of the cost of detection. This
is the same cascade, step for step, with one addition: at most ``max_proposals`` candidates, the first
network's most confident, go on to the second stage (as two-stage detectors keep their top-N proposals).
When the limit cut candidates and the faces found are more than one per eight allowed, a crowd where a face
may have had no candidate among them, the later stages look again at all. Without a limit it returns
exactly what ``detect_face`` does.
"""

from __future__ import annotations

import numpy as np
import torch
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils.detect_face import bbreg, generateBoundingBox, imresample, nms_numpy, pad, rerec
from torchvision.ops import nms

# MTCNN's input scaling and its non-maximum suppression overlaps, as facenet-pytorch has them.
_MEAN, _SCALE = 127.5, 0.0078125
_NMS_PER_SCALE, _NMS = 0.5, 0.7
_THIRD_STAGE_BATCH = 12
# With more faces than the proposal limit over this, the limit may have left a face out (benchmarks.crowd).
_PROPOSALS_PER_FACE = 8


def detect(
    networks: MTCNN,
    image: torch.Tensor,
    min_size: int,
    thresholds: tuple[float, float, float],
    pyramid_factor: float,
    max_proposals: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faces in a float32 (3, H, W) image with values 0-255: boxes float32 (N, 4) (x1, y1, x2, y2), scores (N,)
    and landmarks (N, 5, 2) (x, y), in image pixels. ``min_size``: the smallest face searched, in pixels;
    ``thresholds``: each stage's minimum score; ``networks``: any facenet-pytorch MTCNN (its settings unused)."""
    with torch.inference_mode():
        proposals = _proposals(networks.pnet, image, min_size, thresholds[0], pyramid_factor)
        boxes, points = _later_stages(networks, image, proposals[:max_proposals], thresholds)
        cut = max_proposals is not None and len(proposals) > max_proposals
        if cut and len(boxes) > max_proposals / _PROPOSALS_PER_FACE:
            # A crowd: some of its faces may have had no candidate among the most confident.
            boxes, points = _later_stages(networks, image, proposals, thresholds)
    return boxes[:, :4], boxes[:, 4], points


def _later_stages(
    networks: MTCNN, image: torch.Tensor, proposals: torch.Tensor, thresholds: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The second and third networks on the proposals: faces (N, 5) with scores, and landmarks (N, 5, 2)."""
    boxes = _refined(networks.rnet, image, proposals, thresholds[1])
    return _final(networks.onet, image, boxes, thresholds[2])


def _proposals(pnet, image: torch.Tensor, min_size: int, threshold: float, factor: float) -> torch.Tensor:
    """The first network over the image pyramid: square candidate boxes (N, 5) with scores, most confident first."""
    height, width = image.shape[1:]
    scale, smallest_side, scales = 12.0 / min_size, min(height, width) * 12.0 / min_size, []
    while smallest_side >= 12:  # facenet-pytorch's arithmetic, so that both scan the same scales
        scales.append(scale)
        scale, smallest_side = scale * factor, smallest_side * factor
    boxes = []
    for scale in scales:
        scaled = imresample(image[None], (int(height * scale + 1), int(width * scale + 1)))
        reg, probs = pnet((scaled - _MEAN) * _SCALE)
        found = generateBoundingBox(reg, probs[:, 1], scale, threshold)[0]
        boxes.append(found[nms(found[:, :4], found[:, 4], _NMS_PER_SCALE)])
    boxes = torch.cat(boxes) if boxes else torch.empty(0, 9)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], _NMS)]
    box_width, box_height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    corners = boxes[:, :4] + boxes[:, 5:9] * torch.stack([box_width, box_height, box_width, box_height], dim=1)
    return rerec(torch.cat([corners, boxes[:, 4:5]], dim=1))


def _refined(rnet, image: torch.Tensor, boxes: torch.Tensor, threshold: float) -> torch.Tensor:
    """The second network on each candidate: those it keeps, their boxes corrected, made square."""
    crops, boxes = _crops(image, boxes, 24)
    if not len(boxes):  # the networks cannot take an empty batch
        return boxes
    reg, scores = rnet(crops)
    keep = scores[:, 1] > threshold
    boxes = torch.cat((boxes[keep, :4], scores[keep, 1:]), dim=1)
    pick = nms(boxes[:, :4], boxes[:, 4], _NMS)
    return rerec(bbreg(boxes[pick], reg[keep][pick]))


def _final(onet, image: torch.Tensor, boxes: torch.Tensor, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The third network on each candidate: the faces (N, 5) with scores, and their landmarks (N, 5, 2)."""
    crops, boxes = _crops(image, boxes, 48)
    if not len(boxes):
        return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
    # In batches: on this network a few small batches were faster than one of 24 or more.
    reg, points, scores = (torch.cat(parts) for parts in zip(*map(onet, crops.split(_THIRD_STAGE_BATCH)), strict=True))
    keep = scores[:, 1] > threshold
    boxes, points = torch.cat((boxes[keep, :4], scores[keep, 1:]), dim=1), points[keep]
    box_width = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    box_height = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    x = box_width * points[:, :5] + boxes[:, :1] - 1
    y = box_height * points[:, 5:] + boxes[:, 1:2] - 1
    boxes = bbreg(boxes, reg[keep]).numpy()
    pick = nms_numpy(boxes[:, :4], boxes[:, 4], _NMS, "Min") if len(boxes) else []  # it fails on none
    return boxes[pick], torch.stack((x, y), dim=2).numpy()[pick]


def _crops(image: torch.Tensor, boxes: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each box's pixels (clipped to the image) resized to size x size and scaled for a network, and the boxes
    cropped (those wholly outside the image have no pixels and are dropped)."""
    height, width = image.shape[1:]
    top, bottom, left, right = pad(boxes, width, height)
    inside = (bottom > top - 1) & (right > left - 1)
    crops = [
        imresample(image[None, :, y - 1 : ey, x - 1 : ex], (size, size))
        for y, ey, x, ex in zip(top[inside], bottom[inside], left[inside], right[inside], strict=True)
    ]
    crops = torch.cat(crops) if crops else torch.empty(0, 3, size, size)
    return (crops - _MEAN) * _SCALE, boxes[torch.from_numpy(inside)]
