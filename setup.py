"""Package discovery for zshbench's layout: ``zshbench/`` plus the top-level ``methods/``, ``datasets/`` and
``protocols/`` folders, installed as ``zshbench.methods``, ``zshbench.datasets`` and ``zshbench.protocols``.

Every sub-package under those folders is found automatically (a new ``methods/dpsh/`` needs no list to be
edited); ``tests/test_wheel.py`` builds a wheel and checks that every module and data file is inside. The rest
of the metadata is in ``setup.cfg``.
"""

from setuptools import find_packages, setup

MAPPED = {"zshbench.methods": "methods", "zshbench.datasets": "datasets", "zshbench.protocols": "protocols"}

packages = ["zshbench"] + [f"zshbench.{p}" for p in find_packages("zshbench")]
for name, folder in MAPPED.items():
    packages += [name] + [f"{name}.{p}" for p in find_packages(folder)]

setup(
    packages=packages,
    package_dir={"zshbench": "zshbench", **MAPPED},
    package_data={
        "zshbench.protocols": ["*.toml", "pins.json"],
        "zshbench.methods": ["*.md", "*/*.md"],
        "zshbench.evaluate._accel": ["*.md"],
    },
)
