"""zshbench: a comparative benchmark suite for zero-shot image hashing.

The public Python API (the names below are imported on first use, so ``import zshbench`` stays fast)::

    import zshbench

    zshbench.list_methods()                                   # registered methods (plugins included)
    hasher = zshbench.create_hasher("itq", n_bits=64, seed=0)  # a method by name, with config overrides
    ds = zshbench.get_dataset("shapes")()                     # a dataset by name
    split = zshbench.resolve(zshbench.load_protocol("shapes-zsh"), ds)  # a pinned protocol on it
    records = zshbench.run("itq", "shapes", bits=[64], seeds=[0], results_dir="results")  # train, encode, record
    res = zshbench.evaluate(query_codes, db_codes, query_labels, db_labels, n_bits=64)  # metrics of any codes
    records, problems = zshbench.load_records("results")     # typed, validated result records
    df = zshbench.to_dataframe(records)                       # one row per (run, metric): pandas, optional
    fitted = zshbench.load_hasher("model.safetensors")                # a saved hasher, whatever its method

See ``examples/python_api.py`` for a complete session.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute", imported on first access (PEP 562)
_API = {
    "UserError": "zshbench.errors:UserError",
    "NotFittedError": "zshbench.errors:NotFittedError",
    "create_hasher": "zshbench.registry:create_hasher",
    "load_hasher": "zshbench.registry:load_hasher",
    "get_method": "zshbench.registry:get_method",
    "get_dataset": "zshbench.registry:get_dataset",
    "list_methods": "zshbench.registry:list_methods",
    "list_datasets": "zshbench.registry:list_datasets",
    "register_method": "zshbench.registry:register_method",
    "register_dataset": "zshbench.registry:register_dataset",
    "load_protocol": "zshbench.protocols:load_protocol",
    "list_protocols": "zshbench.protocols:list_protocols",
    "resolve": "zshbench.protocols:resolve",
    "run": "zshbench.runner:run",
    "evaluate": "zshbench.evaluate",  # the package, callable: zshbench.evaluate(...) is evaluate.evaluate(...)
    "Record": "zshbench.records:Record",
    "load_records": "zshbench.records:load_records",
    "to_dataframe": "zshbench.results:to_dataframe",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        module, _, attr = _API[name].partition(":")
        value = importlib.import_module(module)
        value = getattr(value, attr) if attr else value
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zshbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
