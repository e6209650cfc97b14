"""Typed config dataclasses: parse ``--set key=value`` strings into fields and hash configs.

Every Hasher declares a dataclass ``Config``; each field is a ``--set`` key, its annotation gives the type the
value is parsed to, and its default is the documented default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from zshbench.errors import UserError

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def field_types(config_cls: type) -> dict[str, Any]:
    """Resolved annotation of each dataclass field of ``config_cls``."""
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return f"comma-separated list of {_type_name(args[0]) if args else 'values'}"
    return getattr(tp, "__name__", str(tp))


def parse_value(raw: Any, tp: Any, key: str) -> Any:
    """Convert ``raw`` (usually a CLI string) to the type ``tp``; raise `UserError` naming key, value and type."""
    origin = get_origin(tp)

    def bad(extra: str = "") -> UserError:
        return UserError(
            f"Invalid value {raw!r} for config key '{key}': expected {_type_name(tp)}.{extra} "
            f"Example: --set {key}=<{_type_name(tp)}>."
        )

    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if raw is None and type(None) in args:
            return None
        if str in args and isinstance(raw, str):
            return raw  # "none" stays a string where strings are allowed (e.g. weights=none means random init)
        if type(None) in args and isinstance(raw, str) and raw.lower() in ("none", "null", ""):
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return parse_value(raw, a, key)
            except UserError:
                continue
        raise bad()
    if origin is Literal:
        choices = get_args(tp)
        for c in choices:
            if raw == c or (isinstance(raw, str) and str(c) == raw):
                return c
        raise bad()
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        items = [i.strip() if isinstance(i, str) else i for i in items if not (isinstance(i, str) and not i.strip())]
        vals = [parse_value(i, args[0] if args else str, key) for i in items]
        return tuple(vals) if origin is tuple else vals
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise bad(" Use true or false.")
    if tp is int:
        if isinstance(raw, bool):
            raise bad()
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        try:
            return int(str(raw).strip())
        except ValueError:
            raise bad() from None
    if tp is float:
        if isinstance(raw, bool):
            raise bad()
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise bad() from None
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
            import difflib

            close = difflib.get_close_matches(k, list(types_), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
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
    return isinstance(v, (int, float)) and not isinstance(v, bool)


POS_INT = (lambda v: _is_int(v) and v >= 1, "an integer >= 1")
NON_NEG_INT = (lambda v: _is_int(v) and v >= 0, "an integer >= 0")
POSITIVE = (lambda v: _is_num(v) and v > 0, "a positive number")
NON_NEG = (lambda v: _is_num(v) and v >= 0, "a number >= 0")
NUMBER = (lambda v: _is_num(v), "a number")
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
            raise UserError(f"{owner}: {key}={val!r} is invalid: expected {_type_name(tp)} (--set {key}=...).")


_MISMATCH = object()
