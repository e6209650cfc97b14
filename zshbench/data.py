"""Kept for code that imports ``zshbench.data``: the module is now `zshbench.trainset`."""

from zshbench.trainset import *  # noqa: F401,F403
from zshbench.trainset import ImageView, TrainSet, as_feature_array, as_image_array  # noqa: F401
