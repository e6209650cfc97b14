"""The wheel ships every module and data file: a new sub-package (``methods/dpsh/``) or data file must not be left
out silently (an editable install would hide it)."""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TREES = {
    "zshbench": "zshbench",
    "methods": "zshbench/methods",
    "datasets": "zshbench/datasets",
    "protocols": "zshbench/protocols",
}
DATA_SUFFIXES = (".toml", ".json", ".md")


def _expected() -> set[str]:
    out = set()
    for folder, pkg in TREES.items():
        for p in (REPO / folder).rglob("*"):
            if not p.is_file() or "__pycache__" in p.parts or p.suffix == ".pyc":
                continue
            rel = p.relative_to(REPO / folder).as_posix()
            if p.suffix == ".py" or (p.suffix in DATA_SUFFIXES and folder != "zshbench") or p.name == "README.md":
                out.add(f"{pkg}/{rel}")
    return out


def test_wheel_holds_every_module_and_data_file(tmp_path):
    import shutil

    src = tmp_path / "src"  # a copy, so the build's scratch folders never land in the checkout
    for folder in TREES:
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in ("setup.py", "setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / f, src / f)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("zshbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _expected()
    missing = sorted(expected - names)
    assert not missing, f"{len(missing)} file(s) missing from the wheel, e.g. {missing[:5]}"
    assert "zshbench/protocols/pins.json" in names and "zshbench/methods/razh/README.md" in names
    assert not [n for n in names if n.startswith(("tests/", "leaderboard/", "examples/"))]
