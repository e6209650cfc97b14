"""Published numbers as data: the schema of ``source: "paper"`` records (``leaderboard/reported/``).

A paper record holds one row of one printed table of one paper, for one dataset and one metric: ``values`` keyed
by code length, each value both as printed (``printed``, the cell's text, read according to ``printed_unit``)
and as a number in ``unit`` (``value``). A row that is an ablation setting of a method rather than a method
names the setting in ``variant`` (e.g. method "RAZH", variant "mask ratio 0.25"). They are loaded with
`zshbench.records.load_records` (``source="paper"``) and shown by `zshbench.leaderboard.reported`.

Printed units and the unit of ``value`` (`PRINTED_UNITS`; loading fails unless ``value`` is ``printed``
converted):

* ``percent``: ``printed`` is a decimal number, ``value`` = printed / 100, ``unit`` "fraction" (in [0, 1]);
* ``fraction``: ``printed`` is a decimal number, ``value`` = printed, ``unit`` "fraction";
* ``si``: ``printed`` is a decimal number with an optional SI suffix k, M, G or T as printed (``"85.70M"``),
  ``value`` = the number times 10^3, 10^6, 10^9 or 10^12, ``unit`` "parameters" or "flops";
* ``seconds``: ``printed`` is a decimal number with an optional trailing ``s`` (``"483s"``), ``value`` = the
  number, ``unit`` "seconds".

Schema history (paper records are versioned apart from measured records, `zshbench.records.SCHEMA_VERSION`):

* 2: the first version (``unit`` always "fraction", printed units "percent" and "fraction").
* 3: cost values (printed units ``si`` and ``seconds``, units "parameters", "flops", "seconds"); optional
  ``variant`` (the ablation setting of the row), ``row`` (its position in the printed table) and
  ``protocol_caveats`` (sentences on how the paper's number was produced that a side-by-side with zshbench
  must show). `convert_paper_v2_to_v3` changes only ``schema_version``: every version-2 record is a valid
  version-3 record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from zshbench.errors import RecordError

__all__ = [
    "PAPER_SCHEMA",
    "PAPER_SCHEMA_VERSION",
    "PAPER_CONVERTERS",
    "PRINTED_UNITS",
    "convert_paper_v2_to_v3",
    "upgrade_paper_record",
    "printed_to_value",
    "validate_paper_record",
]

PAPER_SCHEMA_VERSION = 3


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
    "variant": (str, False),  # the row's ablation setting when the row is not a method, e.g. "mask ratio 0.25"
    "row": (int, False),  # the row's position in the printed table (1 = first row under the header)
    "dataset": (str, True),  # as printed in the table
    "metric": (str, True),  # the paper's metric, in zshbench's name when one matches (e.g. "map@5000")
    "printed_unit": (str, True),  # how to read ``printed``: a key of PRINTED_UNITS
    "unit": (str, True),  # unit of ``value``: one of PRINTED_UNITS[printed_unit]
    "values": (dict, True),  # "<bits>" -> {"printed": str, "value": number}
    "protocol_description": (str, True),
    "protocol_caveats": (list, False),  # sentences shown beside every comparison with zshbench's measurement
    "zshbench_method": ((str, type(None)), False),  # the registered method this row corresponds to (null: none)
    "zshbench_dataset": ((str, type(None)), False),  # the zshbench dataset of this dataset (null: none)
    "notes": (str, False),
}

# printed_unit -> the units ``value`` may be stored in
PRINTED_UNITS: dict[str, tuple[str, ...]] = {
    "percent": ("fraction",),
    "fraction": ("fraction",),
    "si": ("parameters", "flops"),
    "seconds": ("seconds",),
}

_SI = {"": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_SI_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kMGT]?)")
_SECONDS_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)s?")


def printed_to_value(printed: str, printed_unit: str) -> float | None:
    """The number a printed cell stands for, in the record's ``unit``; None when ``printed`` cannot be read.

    Example:
        >>> printed_to_value("12.34", "percent"), printed_to_value("85.70M", "si"), printed_to_value("483s", "seconds")
        (0.1234, 85700000.0, 483.0)
    """
    if printed_unit in ("percent", "fraction"):
        try:
            x = float(printed)
        except ValueError:
            return None
        if not math.isfinite(x):
            return None
        # exact decimal scaling: "3.06" percent -> 0.0306, not 3.06 / 100 = 0.030600000000000002
        return float(Decimal(printed.strip()).scaleb(-2)) if printed_unit == "percent" else x
    pattern = _SI_RE if printed_unit == "si" else _SECONDS_RE
    m = pattern.fullmatch(printed)
    if m is None:
        return None
    exponent = _SI[m.group(2)] if printed_unit == "si" else 0
    return float(Decimal(m.group(1)).scaleb(exponent))  # exact decimal scaling, one rounding to float


def convert_paper_v2_to_v3(rec: dict) -> dict:
    """Paper schema 2 -> 3: only ``schema_version`` changes (version 3 adds optional fields and cost units)."""
    out = dict(rec)
    out["schema_version"] = 3
    return out


# old paper-schema version -> converter to the next version, each tested on a stored fixture under tests/
PAPER_CONVERTERS: dict[int, Callable[[dict], dict]] = {2: convert_paper_v2_to_v3}


def upgrade_paper_record(rec: dict, where: str = "record") -> dict:
    """Convert a paper record of an older schema version to `PAPER_SCHEMA_VERSION` (the input is not changed)."""
    v = rec.get("schema_version")
    if not isinstance(v, int) or isinstance(v, bool):
        raise RecordError(f"{where}: field 'schema_version' must be int, got {type(v).__name__}.")
    if v > PAPER_SCHEMA_VERSION:
        raise RecordError(
            f"{where}: schema_version {v} is newer than this zshbench understands for paper records "
            f"({PAPER_SCHEMA_VERSION}); upgrade zshbench."
        )
    while v < PAPER_SCHEMA_VERSION:
        if v not in PAPER_CONVERTERS:
            raise RecordError(f"{where}: no converter from paper schema_version {v}.")
        rec = PAPER_CONVERTERS[v](rec)
        v = rec["schema_version"]
    return rec


def validate_paper_record(rec: dict, where: str = "record") -> dict:
    """Check a ``source: "paper"`` record (numbers as published); return it at the current schema version.

    A record of an older version is converted first (`upgrade_paper_record`), so the returned dict may be a new
    one; the input is never changed.

    Raises:
        RecordError: naming ``where`` and the reason (missing field, unknown or mismatched unit, a value that does
            not match the printed number, a code length that is not an integer, a bad optional field).
    """
    _check_fields(rec, {"schema_version": (int, True)}, where)
    rec = upgrade_paper_record(rec, where)
    _check_fields(rec, PAPER_SCHEMA, where)
    if rec["printed_unit"] not in PRINTED_UNITS:
        raise RecordError(
            f"{where}: printed_unit must be one of {', '.join(map(repr, PRINTED_UNITS))}, got {rec['printed_unit']!r}."
        )
    units = PRINTED_UNITS[rec["printed_unit"]]
    if rec["unit"] not in units:
        if units == ("fraction",):
            raise RecordError(f"{where}: unit must be 'fraction' (values are stored in [0, 1]), got {rec['unit']!r}.")
        raise RecordError(
            f"{where}: unit must be one of {', '.join(map(repr, units))} for printed_unit "
            f"{rec['printed_unit']!r}, got {rec['unit']!r}."
        )
    if "row" in rec and rec["row"] < 1:
        raise RecordError(f"{where}: row must be a positive integer (1 = first printed row), got {rec['row']}.")
    for key in ("variant", "notes"):
        if key in rec and not rec[key].strip():
            raise RecordError(f"{where}: {key} is empty; leave the field out instead.")
    if "protocol_caveats" in rec and (
        not rec["protocol_caveats"] or any(not isinstance(s, str) or not s.strip() for s in rec["protocol_caveats"])
    ):
        raise RecordError(f"{where}: protocol_caveats must be a non-empty list of non-empty strings.")
    if not rec["values"]:
        raise RecordError(f"{where}: values is empty; a paper record holds at least one code length.")
    for bits, cell in rec["values"].items():
        if not (bits.isascii() and bits.isdigit()) or not 1 <= int(bits) <= 4096:
            raise RecordError(f'{where}: values key {bits!r} must be a code length in bits, e.g. "64".')
        if not isinstance(cell, dict) or not isinstance(cell.get("printed"), str) or not _is_number(cell.get("value")):
            raise RecordError(f'{where}: values[{bits}] must be {{"printed": "...", "value": number}}.')
        expected = printed_to_value(cell["printed"], rec["printed_unit"])
        if expected is None:
            raise RecordError(
                f"{where}: values[{bits}].printed {cell['printed']!r} is not a number"
                + (
                    "."
                    if rec["printed_unit"] in ("percent", "fraction")
                    else f" in printed_unit {rec['printed_unit']!r}."
                )
            )
        value = cell["value"]
        if not math.isfinite(value):
            raise RecordError(f"{where}: values[{bits}].value {value} is not finite.")
        if rec["unit"] == "fraction" and not 0 <= value <= 1:
            raise RecordError(f"{where}: values[{bits}].value {value} is not a fraction in [0, 1].")
        if value < 0:
            raise RecordError(f"{where}: values[{bits}].value {value} is negative.")
        tol = 1e-9 if rec["unit"] == "fraction" else 1e-9 * max(1.0, abs(expected))
        if abs(expected - value) > tol:
            raise RecordError(
                f"{where}: values[{bits}].value {value} does not match the printed {cell['printed']} "
                f"{rec['printed_unit']} (expected {expected})."
            )
    return rec
