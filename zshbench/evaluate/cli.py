"""``zshbench evaluate``: evaluate saved codes and labels (.npy files) from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zshbench.errors import UserError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to an ``argparse`` subparsers object and return its parser."""
    p = subparsers.add_parser("evaluate", help="evaluate binary codes (.npy) by Hamming ranking",
                              description="Compute map@k, tie-aware mAP, bounds, precision@hamming2 and PR AUC "
                                          "for query/database codes and labels saved as .npy files.")
    p.add_argument("--codes-query", required=True, metavar="Q.npy", help="query codes (packed uint8 or unpacked)")
    p.add_argument("--codes-db", required=True, metavar="D.npy", help="database codes, same format")
    p.add_argument("--labels-query", required=True, metavar="LQ.npy", help="query labels (1-D ids or 0/1 matrix)")
    p.add_argument("--labels-db", required=True, metavar="LD.npy", help="database labels")
    p.add_argument("--n-bits", type=int, default=None, help="code length (needed for packed codes whose length "
                                                             "is not a multiple of 8)")
    p.add_argument("--k", type=int, default=5000, help="cut-off of map@k (default 5000)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write metrics, curves and conventions here")
    return p


def _load(path: str, what: str) -> np.ndarray:
    f = Path(path)
    if not f.is_file():
        raise UserError(f"{what} file {path!r} does not exist; pass the path of a .npy file saved with np.save.")
    try:
        return np.load(f, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"Could not read {what} file {path!r} as .npy ({exc}); save it with np.save.") from exc


def run(args) -> int:
    """Run the ``evaluate`` subcommand; prints a table and returns 0 (errors raise `UserError`)."""
    from rich.console import Console
    from rich.table import Table

    from . import evaluate

    res = evaluate(_load(args.codes_query, "--codes-query"), _load(args.codes_db, "--codes-db"),
                   _load(args.labels_query, "--labels-query"), _load(args.labels_db, "--labels-db"),
                   n_bits=args.n_bits, k=args.k, device=args.device)
    table = Table(title=f"{res.info['n_query']} queries x {res.info['n_db']} items, {res.info['n_bits']} bits "
                        f"({res.info['backend']}, {res.info['seconds']:.2f} s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in res.metrics.items():
        table.add_row(name, f"{value:.4f}")
    Console().print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(res.to_dict(), indent=2))
    return 0
