"""Reliability review 2026-11 (shared/reviews/reliability-2026-11.md), the shallow-method, config-value and
environment-folder cases: each failure class ends in a one-paragraph message and exit code 2, with no traceback
and nothing written (C1-18, C1-21, C1-35, H-01, H-04, H-05; the D > n PCA of the "trust" issue)."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from zshbench.cli import main
from zshbench.errors import UserError


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_paragraph_error(code, err, *fragments):
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ")
    text = " ".join(err.split())  # the CLI wraps lines
    for f in fragments:
        assert f in text, (f, text)
    return text


def _records(root):
    return sorted(p for p in root.rglob("*.json")) if root.exists() else []


# -- config values ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, pair",
    [("razh", "lr=inf"), ("razh", "lr=-inf"), ("comae", "tau=nan"), ("razh", "threshold=1e999"), ("itq", "n_iter=nan")],
)
def test_non_finite_config_values_are_refused_up_front(capsys, tmp_path, method, pair):
    """C1-35: --set lr=inf passed validation and training died 50 s later with a FloatingPointError traceback."""
    key = pair.split("=")[0]
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        method,
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--set",
        pair,
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    expected = "expected an integer" if key == "n_iter" else "expected a finite number"
    _one_paragraph_error(code, err, f"config key '{key}'", expected)
    assert _records(tmp_path / "r") == []


def test_huge_int_config_values_are_refused(capsys, tmp_path):
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "razh",
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--set",
        "n_parts=99999999999",
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    _one_paragraph_error(code, err, "n_parts=99999999999 is invalid", "from 1 to 2147483647")
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "itq",
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--set",
        f"n_iter={2**80}",
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    _one_paragraph_error(code, err, "config key 'n_iter'", "out of range", "64 bits")


# -- seeds --------------------------------------------------------------------------------------------------
def test_seed_beyond_2_64_is_refused_before_any_work(capsys, tmp_path):
    """C1-18: --seeds 2**70 passed validation, then torch.manual_seed crashed ('Overflow when unpacking long
    long') after the dataset and features were prepared."""
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--seeds",
        str(2**70),
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    _one_paragraph_error(code, err, str(2**70), "Seeds must be integers from 0 to 2**64 - 1", "--seeds")
    assert _records(tmp_path / "r") == []


def test_largest_seed_is_accepted_and_recorded(capsys, tmp_path):
    """C1-21 (was OK, must stay OK): seed 2**64 - 1 runs and is recorded."""
    code, out, err = cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--seeds",
        str(2**64 - 1),
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    assert code == 0, err
    (rec,) = _records(tmp_path / "r")
    assert rec.name.startswith(f"b16-s{2**64 - 1}-")


@pytest.mark.parametrize("seed", [2**64, 2**70, -1, True, 1.0])
def test_validate_config_refuses_seeds_torch_cannot_take(seed):
    import dataclasses

    from zshbench.methods.lsh import LSHConfig, LSHHasher

    h = LSHHasher()
    h.config = dataclasses.replace(LSHConfig(), seed=seed)  # past the parsing in __init__, as a plugin could
    with pytest.raises(UserError, match=r"seed=.* is out of range: seeds must be integers from 0 to 2\*\*64 - 1"):
        h.validate_config()


# -- memory ---------------------------------------------------------------------------------------------------
def test_projection_larger_than_memory_is_refused_with_an_estimate(capsys, tmp_path, monkeypatch):
    """H-01: a 24 GiB LSH projection (2048 px pixels, 256 bits) ended in a MemoryError traceback. Same failure
    class on digits with the available memory set to 300 KB: the estimate, the memory and the fix."""
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "3e5")
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        "digits",
        "--bits",
        "256",
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    _one_paragraph_error(
        code,
        err,
        "Not enough memory: fitting 'lsh' (256 bits) on 800 x 64 features",
        "the 64 x 256 float64 projection: 128.0 KiB",
        "293.0 KiB available",
        "fewer --bits",
    )
    assert _records(tmp_path / "r") == []


def _folder_of_small_greyscale_images(root, classes="abcd", per_class=8):
    from PIL import Image

    rng = np.random.default_rng(0)
    for _i, c in enumerate(classes):
        (root / c).mkdir(parents=True)
        proto = rng.integers(0, 256, (28, 28))
        for j in range(per_class):
            img = np.clip(proto + rng.normal(0, 40, (28, 28)), 0, 255).astype(np.uint8)
            Image.fromarray(img, "L").save(root / c / f"{j}.png")
    return root


@pytest.mark.parametrize("method", ["pcah", "itq", "sh"])
def test_pca_on_224_px_pixels_fits_in_little_memory(capsys, tmp_path, monkeypatch, method):
    """The issue's case, scaled down: 28 x 28 greyscale photos at --image-size 224 give 150,528-d pixel
    features; the covariance PCA tried to allocate 169 GiB. With 2 GB allowed, the Gram solver runs."""
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "2e9")
    root = _folder_of_small_greyscale_images(tmp_path / "digits28")
    code, out, err = cli(
        capsys,
        "run",
        "--method",
        method,
        "--dataset",
        f"folder:{root}",
        "--unseen",
        "a",
        "--train-per-class",
        "6",
        "--query-per-class",
        "2",
        "--bits",
        "16",
        "--image-size",
        "224",
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    assert code == 0, err
    (rec,) = _records(tmp_path / "r")
    assert 0.0 < __import__("json").loads(rec.read_text())["metrics"]["map@all"] <= 1.0


# -- environment folders ------------------------------------------------------------------------------------
def test_cache_variable_pointing_at_a_file(capsys, tmp_path, monkeypatch):
    """H-04: ZSHBENCH_CACHE naming a file gave a FileExistsError traceback."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    for value, problem in (
        (afile, f"{afile} is a file, not a folder"),
        (afile / "sub", f"{afile}, a folder above it, is a file"),
    ):
        monkeypatch.setenv("ZSHBENCH_CACHE", str(value))
        code, _, err = cli(
            capsys,
            "run",
            "--method",
            "lsh",
            "--dataset",
            "shapes",
            "--bits",
            "16",
            "--results",
            str(tmp_path / "r"),
            "--no-progress",
        )
        _one_paragraph_error(
            code,
            err,
            f"Cannot use ZSHBENCH_CACHE={value} as zshbench's cache folder",
            problem,
            "Set ZSHBENCH_CACHE to a folder you can write to",
            "or unset it to use ~/.cache/zshbench",
        )
    assert _records(tmp_path / "r") == [] and afile.read_text() == "x"


def test_codes_dir_variable_pointing_at_a_file(capsys, tmp_path, monkeypatch):
    """H-05: ZSHBENCH_CODES_DIR naming a file gave a FileExistsError traceback (memory-mapped encoding)."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("ZSHBENCH_CODES_DIR", str(afile))
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--memmap-threshold",
        "0",
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
    )
    _one_paragraph_error(
        code,
        err,
        f"Cannot use ZSHBENCH_CODES_DIR={afile}",
        "is a file, not a folder",
        "Set ZSHBENCH_CODES_DIR to a folder you can write to",
    )
    assert _records(tmp_path / "r") == []


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write to: chmod for ordinary users; chattr +i for root (who ignores modes)."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(0o555)
        yield d
        d.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i support on this file system: cannot make a read-only folder")
    try:
        yield d
    finally:
        subprocess.run(["chattr", "-i", str(d)], check=False)


@pytest.mark.parametrize("var", ["ZSHBENCH_CACHE", "ZSHBENCH_CODES_DIR"])
def test_unwritable_environment_folder(monkeypatch, read_only_dir, var):
    from zshbench.cache import cache_dir
    from zshbench.codes import codes_dir

    monkeypatch.setenv(var, str(read_only_dir))
    with pytest.raises(UserError) as e:
        (cache_dir if var == "ZSHBENCH_CACHE" else codes_dir)()
    msg = str(e.value)
    assert f"Cannot use {var}={read_only_dir}" in msg and "it is not writable" in msg and f"Set {var} to" in msg
    assert list(read_only_dir.iterdir()) == []


def test_default_folders_are_created_and_checked(tmp_path, monkeypatch):
    from zshbench.cache import cache_dir
    from zshbench.codes import codes_dir

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "new" / "cache"))
    monkeypatch.delenv("ZSHBENCH_CODES_DIR", raising=False)
    assert cache_dir() == tmp_path / "new" / "cache" and codes_dir() == tmp_path / "new" / "cache" / "codes"
    assert codes_dir().is_dir() and list(codes_dir().iterdir()) == []  # the write probe leaves nothing
    (tmp_path / "new" / "cache" / "codes").rmdir()
    (tmp_path / "new" / "cache" / "codes").write_text("x")  # ZSHBENCH_CODES_DIR unset: the default is a file
    with pytest.raises(UserError, match=r"ZSHBENCH_CODES_DIR is not set, so zshbench uses the codes/ folder"):
        codes_dir()
