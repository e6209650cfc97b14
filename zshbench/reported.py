"""Published numbers as data: the schema of ``source: "paper"`` records (``leaderboard/reported/``).

A paper record holds one method on one dataset from one table of one paper, ``values`` keyed by code length,
each value both as printed (``printed``, a string, in ``printed_unit``) and as a fraction in [0, 1]
(``value``). They are loaded with `zshbench.records.load_records` (``source="paper"``) and shown by
`zshbench.leaderboard.reported`.
"""

from __future__ import annotations

import math
from typing import Any

from zshbench.errors import RecordError

__all__ = ["PAPER_SCHEMA", "PAPER_SCHEMA_VERSION", "validate_paper_record"]

# the paper-record schema is versioned on its own (measured records: zshbench.records.SCHEMA_VERSION)
PAPER_SCHEMA_VERSION = 2


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_fields(rec: dict, schema: dict[str, tuple[Any, bool]], where: str, prefix: str = "") -> None:
    for key, (tp, required) in schema.items():
        if key not in rec:
            if required:
                raise RecordError(f"{where}: missing required field '{prefix}{key}'.")
            continue
        types = tp if isinstance(tp, tuple) else (tp,)
        if not isinstance(rec[key], types) or (int in types and isinstance(rec[key], bool)):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise RecordError(f"{where}: field '{prefix}{key}' must be {names}, got {type(rec[key]).__name__}.")


# fields of a ``source: "paper"`` record (numbers as published, see the module docstring)
PAPER_SCHEMA: dict[str, tuple[Any, bool]] = {
    "schema_version": (int, True),
    "source": (str, True),
    "paper": (str, True),  # short key, e.g. "razh2025"
    "citation": (str, True),
    "url": (str, True),
    "table": (str, True),  # e.g. "Table II"
    "method": (str, True),  # as printed in the table
    "dataset": (str, True),  # as printed in the table
    "metric": (str, True),  # the paper's metric, in zshbench's name when one matches (e.g. "map@5000")
    "printed_unit": (str, True),  # "percent" or "fraction"
    "unit": (str, True),  # unit of ``value``: always "fraction"
    "values": (dict, True),  # "<bits>" -> {"printed": str, "value": number}
    "protocol_description": (str, True),
    "zshbench_method": ((str, type(None)), False),  # the registered method this row corresponds to (null: none)
    "zshbench_dataset": ((str, type(None)), False),  # the zshbench dataset of this dataset (null: none)
    "notes": (str, False),
}


def validate_paper_record(rec: dict, where: str = "record") -> dict:
    """Check a ``source: "paper"`` record (numbers as published); return it.

    Raises:
        RecordError: naming ``where`` and the reason (missing field, wrong unit, a value that does not match the
            printed number, a code length that is not an integer).
    """
    _check_fields(rec, PAPER_SCHEMA, where)
    if rec["schema_version"] != PAPER_SCHEMA_VERSION:
        raise RecordError(f"{where}: schema_version {rec['schema_version']} is not {PAPER_SCHEMA_VERSION}.")
    if rec["printed_unit"] not in ("percent", "fraction"):
        raise RecordError(f"{where}: printed_unit must be 'percent' or 'fraction', got {rec['printed_unit']!r}.")
    if rec["unit"] != "fraction":
        raise RecordError(f"{where}: unit must be 'fraction' (values are stored in [0, 1]), got {rec['unit']!r}.")
    if not rec["values"]:
        raise RecordError(f"{where}: values is empty; a paper record holds at least one code length.")
    scale = 100 if rec["printed_unit"] == "percent" else 1
    for bits, cell in rec["values"].items():
        if not (bits.isascii() and bits.isdigit()) or not 1 <= int(bits) <= 4096:
            raise RecordError(f"{where}: values key {bits!r} must be a code length in bits, e.g. \"64\".")
        if not isinstance(cell, dict) or not isinstance(cell.get("printed"), str) or not _is_number(cell.get("value")):
            raise RecordError(f"{where}: values[{bits}] must be {{\"printed\": \"...\", \"value\": number}}.")
        try:
            printed = float(cell["printed"])
        except ValueError:
            printed = math.nan
        if not math.isfinite(printed):
            raise RecordError(f"{where}: values[{bits}].printed {cell['printed']!r} is not a number.")
        if not 0 <= cell["value"] <= 1:
            raise RecordError(f"{where}: values[{bits}].value {cell['value']} is not a fraction in [0, 1].")
        if abs(printed / scale - cell["value"]) > 1e-9:
            raise RecordError(
                f"{where}: values[{bits}].value {cell['value']} does not match the printed {cell['printed']} "
                f"{rec['printed_unit']} (expected {printed / scale})."
            )
    return rec


