"""Typed config dataclasses: parse ``--set key=value`` strings into fields and hash configs.

Every Hasher declares a dataclass ``Config``; each field is a ``--set`` key, its annotation gives the type the
value is parsed to, and its default is the documented default.

Values are checked where they are parsed: a float field refuses inf, -inf and nan (they only make training
diverge later), an int field refuses bools, non-integral numbers and integers that do not fit in 64 bits
(`INT_MIN` .. `INT_MAX`, the widest range numpy and torch accept; a method narrows it in its
``validate_config``, and the `POS_INT` / `NON_NEG_INT` rules cap counts at `COUNT_MAX`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from zshbench.errors import UserError

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}

# integers of config fields: the union of the int64 and uint64 ranges (torch.manual_seed takes up to 2**64 - 1)
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
# counts (steps, epochs, parts, negatives...): anything larger is a typo, and overflows 32-bit C ints
COUNT_MAX = 2**31 - 1
# keys set with their own command-line flag rather than --set (every method has them)
_FLAGS = {"n_bits": "--bits", "seed": "--seeds"}


class _NonFiniteError(UserError):
    """A float field got inf, -inf or nan (kept apart so that Optional[float] fields report it as such)."""


def field_types(config_cls: type) -> dict[str, Any]:
    """Resolved annotation of each dataclass field of ``config_cls``."""
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


_PHRASES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "none"}


def _type_phrase(tp: Any) -> str:
    """What an error message says a key expects: ``int | None`` -> "an integer or none" (not "int | NoneType")."""
    origin = get_origin(tp)
    if origin is Literal:
        choices = ", ".join(repr(a) for a in get_args(tp))
        return f"one of {choices}" if len(get_args(tp)) > 1 else choices
    if origin in (Union, types.UnionType):
        return " or ".join(_type_phrase(a) for a in get_args(tp))
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return f"a comma-separated list of {_type_phrase(args[0]) if args else 'values'}"
    return _PHRASES.get(tp, getattr(tp, "__name__", str(tp)))


def _type_name(tp: Any) -> str:
    """The short name of an annotation (`list methods --verbose`, placeholders): ``int | None`` -> "int | none"."""
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "none"
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return f"comma-separated list of {_type_name(args[0]) if args else 'values'}"
    return getattr(tp, "__name__", str(tp))


def parse_value(raw: Any, tp: Any, key: str) -> Any:
    """Convert ``raw`` (usually a CLI string) to the type ``tp``; raise `UserError` naming key, value and type."""
    origin = get_origin(tp)

    def bad(extra: str = "") -> UserError:
        example = f"{_FLAGS[key]} <{_type_name(tp)}>" if key in _FLAGS else f"--set {key}=<{_type_name(tp)}>"
        return UserError(
            f"Invalid value {raw!r} for config key '{key}': expected {_type_phrase(tp)}.{extra} Example: {example}."
        )

    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if raw is None and type(None) in args:
            return None
        if str in args and isinstance(raw, str):
            return raw  # "none" stays a string where strings are allowed (e.g. weights=none means random init)
        if type(None) in args and isinstance(raw, str) and raw.lower() in ("none", "null", ""):
            return None
        specific = None
        for a in args:
            if a is type(None):
                continue
            try:
                return parse_value(raw, a, key)
            except _NonFiniteError as e:
                specific = e
            except UserError:
                continue
        raise specific or bad()
    if origin is Literal:
        choices = get_args(tp)
        for c in choices:
            if raw == c or (isinstance(raw, str) and str(c) == raw):
                return c
        raise bad()
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        if isinstance(raw, str):
            items = raw.split(",")
        else:  # a list from a grid file, or one value (as "--set key=value" gives a one-item list)
            items = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        items = [i.strip() if isinstance(i, str) else i for i in items if not (isinstance(i, str) and not i.strip())]
        vals = [parse_value(i, args[0] if args else str, key) for i in items]
        return tuple(vals) if origin is tuple else vals
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise bad(" Also accepted: yes/no, on/off, 1/0.")
    if tp is int:
        if isinstance(raw, bool):
            raise bad(" Use a number, not true/false.")
        if isinstance(raw, int):
            v = raw
        elif isinstance(raw, float):
            if not raw.is_integer():
                raise bad()
            v = int(raw)
        else:
            try:
                v = int(str(raw).strip())
            except ValueError:  # also digit strings longer than Python converts (4300 digits)
                raise bad() from None
        if not INT_MIN <= v <= INT_MAX:
            note = (
                " Seeds must be integers from 0 to 2**64 - 1, the range torch.manual_seed accepts."
                if key == "seed"
                else " Integers must fit in 64 bits (-2**63 to 2**64 - 1)."
            )
            raise bad(f" {v} is out of range.{note}")
        return v
    if tp is float:
        if isinstance(raw, bool):
            raise bad(" Use a number, not true/false.")
        try:
            v = float(raw)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond the float range
            raise bad() from None
        if not math.isfinite(v):
            raise _NonFiniteError(
                f"Invalid value {raw!r} for config key '{key}': expected a finite number; inf, -inf and nan are "
                f"not allowed (they make training diverge instead of reporting the mistake). Example: "
                f"--set {key}=<float>."
            )
        return v
    if tp is str:
        return str(raw)
    if tp is Any:
        return raw
    raise bad()


def parse_overrides(config_cls: type, pairs: list[str] | dict[str, Any], *, owner: str = "method") -> dict[str, Any]:
    """Parse ``["key=value", ...]`` (or a dict) into typed overrides of ``config_cls``.

    Raises:
        UserError: an unknown key (listing the valid keys), a malformed pair, or a value of the wrong type.
    """
    types_ = field_types(config_cls)
    if isinstance(pairs, dict):
        items = list(pairs.items())
    else:
        items = []
        for p in pairs:
            if "=" not in p:
                raise UserError(
                    f"Malformed --set argument {p!r}: expected key=value, for example --set n_iter=50. "
                    f"Valid keys for this {owner}: {', '.join(types_)}."
                )
            k, v = p.split("=", 1)
            items.append((k.strip(), v.strip()))
    out: dict[str, Any] = {}
    for k, v in items:
        if k not in types_:
            from zshbench.errors import close_matches

            hint = close_matches(k, types_, n=1)
            raise UserError(
                f"Unknown config key '{k}' for this {owner}.{hint} Valid keys: {', '.join(types_)}. "
                "Set one with --set key=value."
            )
        out[k] = parse_value(v, types_[k], k)
    return out


def config_to_dict(config: Any) -> dict[str, Any]:
    """``asdict`` with tuples turned into lists, so the result is JSON-stable."""
    d = dataclasses.asdict(config)
    return json.loads(json.dumps(d, sort_keys=True, default=str))


def config_hash(params: dict[str, Any], exclude: tuple[str, ...] = ()) -> str:
    """First 12 hex digits of sha256 of ``json.dumps(params, sort_keys=True)`` without the ``exclude`` keys."""
    kept = {k: v for k, v in params.items() if k not in exclude}
    blob = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# -- range checks shared by the methods' validate_config ------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    """A finite int or float (bools excluded)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


POS_INT = (lambda v: _is_int(v) and 1 <= v <= COUNT_MAX, f"an integer from 1 to {COUNT_MAX}")
NON_NEG_INT = (lambda v: _is_int(v) and 0 <= v <= COUNT_MAX, f"an integer from 0 to {COUNT_MAX}")
POSITIVE = (lambda v: _is_num(v) and v > 0, "a finite positive number")
NON_NEG = (lambda v: _is_num(v) and v >= 0, "a finite number >= 0")
NUMBER = (lambda v: _is_num(v), "a finite number")
UNIT = (lambda v: _is_num(v) and 0.0 <= v <= 1.0, "a number in [0, 1]")
UNIT_OPEN = (lambda v: _is_num(v) and 0.0 <= v < 1.0, "a number in [0, 1)")


def check_ranges(config: Any, owner: str, rules: dict[str, tuple[Any, str]]) -> None:
    """Check config fields against ``{field: (predicate, description)}``; None values (= use the profile's
    default) pass. Raises `UserError` naming the method, key, value and the allowed range."""
    for key, (ok, what) in rules.items():
        val = getattr(config, key)
        if val is not None and not ok(val):
            raise UserError(f"{owner}: {key}={val!r} is invalid: expected {what} (--set {key}=...).")


def check_types(config: Any, owner: str) -> None:
    """Every field of ``config`` has a value of its annotated type (Literal choices included)."""
    for key, tp in field_types(type(config)).items():
        val = getattr(config, key)
        try:
            parsed = parse_value(val, tp, key)
        except UserError:
            parsed = _MISMATCH
        if parsed is _MISMATCH or (isinstance(val, str) and not isinstance(parsed, str) and parsed is not None):
            what = _type_phrase(tp)
            if isinstance(val, float) and not math.isfinite(val):
                what = "a finite number (inf, -inf and nan are not allowed)"
            elif _is_int(val) and not INT_MIN <= val <= INT_MAX:
                what = f"{what} that fits in 64 bits (-2**63 .. 2**64 - 1)"
            flag = f"{_FLAGS[key]} ..." if key in _FLAGS else f"--set {key}=..."
            raise UserError(f"{owner}: {key}={val!r} is invalid: expected {what} ({flag}).")


_MISMATCH = object()
