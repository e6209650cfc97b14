"""Kept for code that imports ``zshbench.launchers_submitit``: the launcher is now `zshbench.sweep.submitit`."""

from zshbench.sweep.submitit import *  # noqa: F401,F403
from zshbench.sweep.submitit import SubmititLauncher  # noqa: F401
