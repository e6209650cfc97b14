"""Built-in methods. Importing this package registers them (``zshbench.list_methods()``)."""

from zshbench.methods import lsh  # noqa: F401  (registration)
