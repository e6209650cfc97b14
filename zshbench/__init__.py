"""zshbench: a comparative benchmark suite for zero-shot image hashing.

The public API::

    from zshbench import create_hasher, list_methods, get_dataset, resolve_protocol, run
"""

__version__ = "0.1.0"

from zshbench.errors import NotFittedError, UserError  # noqa: E402
from zshbench.registry import (  # noqa: E402
    create_hasher,
    get_dataset,
    get_method,
    list_datasets,
    list_methods,
    register_dataset,
    register_method,
)

__all__ = [
    "__version__",
    "NotFittedError",
    "UserError",
    "create_hasher",
    "get_dataset",
    "get_method",
    "list_datasets",
    "list_methods",
    "register_dataset",
    "register_method",
]
