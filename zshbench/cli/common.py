"""Shared pieces of the command line: the argument parser class, consoles, number lists."""

from __future__ import annotations

import argparse
import sys

__all__ = ["Parser", "console", "int_list"]


def int_list(text: str) -> list[int]:
    """``"24,48"`` -> [24, 48]; an empty item (``"24,,48"``, a trailing comma) is an error, not a silent skip."""
    items = [t.strip() for t in text.split(",")]
    if any(not t for t in items):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers without empty items, got {text!r} (e.g. 24,48)"
        )
    try:
        return [int(t) for t in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r} (e.g. 24,48)") from None


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage errors: exit code 2 with a hint
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\nSee '{self.prog} --help'.\n")


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 140)
