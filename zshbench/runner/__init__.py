"""The runner: method x dataset x protocol x bits x seeds -> result records.

``prepare`` validates every input and resolves method, dataset, protocol and split before any work. Each run
then has an identity (`zshbench.records.run_identity`: every input that can change one of its numbers) whose
hash names its record file (`Prepared.slot`). ``run`` looks every run up first (`Prepared.lookup`): a run is
skipped only when a valid record with exactly its identity exists; an unreadable or edited record stops the
command (exit 2, naming the file) unless ``force``; nothing of another experiment is ever returned or
overwritten. The rest run one by one (``run_one``): build the `TrainSet` (seen classes only), ``fit``, encode
query and database, evaluate, and write the `Record` atomically. Features are computed once for all runs.
"""

from zshbench.runner.execute import run, run_one, seed_everything
from zshbench.runner.prepare import (
    DEFAULT_K,
    Lookup,
    Prepared,
    Slot,
    build_trainset,
    load_dataset,
    prepare,
)

__all__ = [
    "run",
    "run_one",
    "build_trainset",
    "prepare",
    "Prepared",
    "Slot",
    "Lookup",
    "load_dataset",
    "seed_everything",
    "DEFAULT_K",
]
