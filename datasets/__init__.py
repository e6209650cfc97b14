"""Datasets: loaders for real benchmarks and the built-in generated ones. Importing registers them."""

from zshbench.datasets import awa2, cifar10, cub, digits, fashion, folder, shapes, sun, xlsa17  # noqa: F401  (registration)  # noqa: F401  (registration)
from zshbench.datasets.base import ArrayDataset, Dataset  # noqa: F401

__all__ = ["Dataset", "ArrayDataset"]
