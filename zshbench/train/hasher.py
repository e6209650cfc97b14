"""Old import path of `zshbench.train.torch_hasher`, kept for code that imports it."""

from zshbench.train.torch_hasher import *  # noqa: F401,F403
