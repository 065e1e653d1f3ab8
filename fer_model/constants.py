"""Facts about FER2013 that training writes into the weights.

Inference code never imports these: it reads the copies stored in the weights' metadata.
"""

EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
IMAGE_SIZE = 48
# Mean and std of FER2013 train pixels scaled to [0, 1] (28,709 images).
PIXEL_MEAN = 0.5081
PIXEL_STD = 0.2525
