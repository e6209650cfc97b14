"""``zshbench evaluate``: evaluate saved codes and labels (.npy files) from the command line.

Everything the user named is checked before any work: the kernel choice, the ``--json`` target (a folder is
refused; missing parent folders are created, as for ``--results``), and each input file, whose .npy header is
read first (`numpy.lib.format`) so that an .npz archive, a text or pickle file named .npy, an object array, a
file shorter than its header claims and an array larger than the available memory are all refused with a
one-paragraph `UserError` before anything is loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from zshbench.errors import UserError

from . import HEADLINE_K

__all__ = ["add_parser", "run", "load_npy", "check_json_target"]

_NPY_MAGIC = b"\x93NUMPY"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to an ``argparse`` subparsers object and return its parser."""
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate binary codes (.npy) by Hamming ranking",
        description="Compute map@k, tie-aware mAP, bounds, precision@hamming2 and PR AUC "
        "for query/database codes and labels saved as .npy files.",
    )
    p.add_argument("--codes-query", required=True, metavar="Q.npy", help="query codes (packed uint8 or unpacked)")
    p.add_argument("--codes-db", required=True, metavar="D.npy", help="database codes, same format")
    p.add_argument("--labels-query", required=True, metavar="LQ.npy", help="query labels (1-D ids or 0/1 matrix)")
    p.add_argument("--labels-db", required=True, metavar="LD.npy", help="database labels")
    p.add_argument(
        "--n-bits",
        type=int,
        default=None,
        help="code length: needed for packed codes whose length is not a multiple of 8, and for uint8 "
        "codes holding only 0 and 1 (unpacked 0/1 columns, or packed bytes that happen to be 0/1)",
    )
    p.add_argument("--k", type=int, default=HEADLINE_K, help=f"cut-off of map@k (default {HEADLINE_K})")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument(
        "--kernels",
        choices=["vector", "scalar"],
        default=None,
        help="compiled CPU kernels (default: $ZSHBENCH_EVAL_KERNELS, else vector); same results",
    )
    p.add_argument(
        "--json",
        default=None,
        metavar="OUT",
        help="also write metrics, curves and conventions to this file (missing folders are created)",
    )
    return p


def _fmt_bytes(n: float) -> str:
    from zshbench.memory import fmt_bytes

    return fmt_bytes(n)


def _not_npy(path: str, what: str, head: bytes) -> UserError:
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n[:-4] if n.endswith(".npy") else n for n in z.namelist()]
        except (zipfile.BadZipFile, OSError):
            names = []
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        first = names[0] if names else "arr_0"
        return UserError(
            f"{what} file {path!r} is an .npz archive (arrays: {shown or 'none'}), not a single .npy "
            f'array. Save the array you mean with np.save and pass that file, e.g. python -c "import '
            f"numpy as np; np.save('codes.npy', np.load('{path}')['{first}'])\"."
        )
    if head[:1] == b"\x80":
        return UserError(
            f"{what} file {path!r} is a Python pickle, not a .npy array; zshbench never unpickles "
            "input files (unpickling can run arbitrary code). Save the array with np.save(path, array) "
            "from the program that made it."
        )
    return UserError(
        f"{what} file {path!r} is not a .npy file (it does not start with the .npy signature "
        "\\x93NUMPY; a text or CSV file, for instance). Save the array with np.save(path, array); for "
        "a text file, np.save(path, np.loadtxt(textfile))."
    )


def load_npy(path: str, what: str) -> np.ndarray:
    """Load one .npy array, refusing anything else before allocating.

    The header is read first: an .npz archive, a pickle or text file, an object array, a file holding fewer
    bytes than the header's shape and dtype need, or an array that does not fit in the available memory
    (`zshbench.memory.check_allocation`) raise `UserError`; pickles are never loaded.

    Args:
        path: the file.
        what: the option it came from, for messages (e.g. "--codes-query").

    Raises:
        UserError: on any of the above, a missing file or a folder.
    """
    from zshbench.memory import check_allocation

    f = Path(path)
    if f.is_dir():
        raise UserError(f"{what} {path!r} is a folder; pass the path of a .npy file saved with np.save.")
    if not f.is_file():
        raise UserError(f"{what} file {path!r} does not exist; pass the path of a .npy file saved with np.save.")
    try:
        with open(f, "rb") as fh:
            head = fh.read(len(_NPY_MAGIC))
            if head != _NPY_MAGIC:
                raise _not_npy(path, what, head)
            fh.seek(0)
            try:
                version = np.lib.format.read_magic(fh)
                read_header = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                header = read_header(fh) if read_header else None
            except ValueError as exc:
                raise UserError(
                    f"{what} file {path!r} has a damaged .npy header ({' '.join(str(exc).split())}); "
                    "save the array again with np.save."
                ) from None
            if header is None:
                raise UserError(
                    f"{what} file {path!r} is a .npy file of format version {version}, which only "
                    "arrays with non-Latin-1 field names need; codes and labels are plain numeric "
                    "arrays: save them with np.save(path, np.asarray(array))."
                )
            shape, _, dtype = header
            offset = fh.tell()
    except OSError as exc:
        raise UserError(
            f"Could not read {what} file {path!r} ({exc.strerror or exc}); check the path and its permissions."
        ) from None
    if dtype.hasobject:
        raise UserError(
            f"{what} file {path!r} holds Python objects (dtype {dtype}), which zshbench does not load: "
            "reading them means unpickling, which can run arbitrary code. Save a numeric array "
            "instead: codes as bool, integers or packed uint8, labels as integers, e.g. "
            "np.save(path, np.asarray(codes, dtype=np.int8))."
        )
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = f.stat().st_size - offset
    if have < need:
        raise UserError(
            f"{what} file {path!r} is shorter than its header says: shape {shape} of {dtype} needs "
            f"{_fmt_bytes(need)} of data but the file holds {_fmt_bytes(max(have, 0))}. It is truncated "
            "(an interrupted copy or write) or was not written by np.save; save it again."
        )
    check_allocation(
        need,
        f"loading {what} {path!r} (shape {shape}, {dtype})",
        "Evaluate a subset of the items, or run on a machine with more memory.",
    )
    try:
        arr = np.load(f, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UserError(
            f"Could not read {what} file {path!r} as a .npy array ({type(exc).__name__}); save it "
            "again with np.save(path, array)."
        ) from None
    return arr


def check_json_target(path: str | None) -> Path | None:
    """Check, before any work, that ``--json PATH`` can be written; create its missing parent folders.

    Raises:
        UserError: the path is empty, a folder (or ends with a separator), not a regular file, or its folder is
            a file or not writable.
    """
    if path is None:
        return None
    from zshbench.paths import check_writable_dir

    if path == "":
        raise UserError("--json is empty: name the file to write the results to, e.g. --json metrics.json.")
    p = Path(path)
    if p.is_dir() or path.endswith(("/", os.sep)):
        raise UserError(f"--json {path!r} is a folder; name a file inside it, e.g. --json {str(p / 'metrics.json')!r}.")
    if p.exists() and not p.is_file():
        raise UserError(f"--json {path!r} exists and is not a regular file (a pipe or device); name a file.")
    check_writable_dir(p.parent if str(p.parent) else ".", "--json's folder")
    p.parent.mkdir(parents=True, exist_ok=True)  # checked writable above; missing folders are created
    if p.exists() and not os.access(p, os.W_OK):
        raise UserError(f"--json {path!r} exists and is not writable; choose another file or fix its permissions.")
    return p


def _write_json(target: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(args) -> int:
    """Run the ``evaluate`` subcommand; prints a table and returns 0 (errors raise `UserError`)."""
    from rich.console import Console
    from rich.table import Table

    from . import evaluate
    from .inputs import check_k
    from .kernels import requested_kernels

    requested_kernels(args.kernels)  # a bad $ZSHBENCH_EVAL_KERNELS is refused before any work
    check_k(args.k)
    if args.n_bits is not None and args.n_bits <= 0:
        raise UserError(f"--n-bits must be a positive number of bits, got {args.n_bits}.")
    target = check_json_target(args.json)
    arrays = [
        load_npy(path, flag)
        for path, flag in (
            (args.codes_query, "--codes-query"),
            (args.codes_db, "--codes-db"),
            (args.labels_query, "--labels-query"),
            (args.labels_db, "--labels-db"),
        )
    ]
    res = evaluate(*arrays, n_bits=args.n_bits, k=args.k, device=args.device, kernels=args.kernels)
    table = Table(
        title=f"{res.info['n_query']} queries x {res.info['n_db']} items, {res.info['n_bits']} bits "
        f"({res.info['backend']}, {res.info['seconds']:.2f} s)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in res.metrics.items():
        table.add_row(name, f"{value:.4f}")
    Console().print(table)
    if target is not None:
        _write_json(target, res.to_dict())
    return 0
