"""Training and scoring on FER2013: the data set (``dataset``), batch augmentation (``augment``), re-framing the
train faces as photos are framed (``realign``), the training loop (``train``), and evaluation and calibration
of a weights file (``evaluate``). The photo, video and batch paths never import this package."""
