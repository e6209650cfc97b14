"""Datasets: loaders for real benchmarks and the built-in generated ones. Importing registers them."""

from zshbench.datasets.base import ArrayDataset, Dataset  # noqa: F401
from zshbench.datasets import digits, shapes  # noqa: F401  (registration)
from zshbench.datasets import awa2, cifar10, cub, fashion, folder, sun, xlsa17  # noqa: F401  (registration)

__all__ = ["Dataset", "ArrayDataset"]
