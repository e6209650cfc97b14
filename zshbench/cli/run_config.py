"""``zshbench run --config FILE.toml``: the run's flags from a TOML file; command-line flags override it."""

from __future__ import annotations

import argparse

from zshbench.cli.common import int_list
from zshbench.errors import UserError

__all__ = ["load_run_config", "resolve_run_args", "mark_defaults", "config_provenance"]


class _Default:
    """The value of a `run` flag not given on the command line (so that --config can fill it)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return f"default {self.value!r}"


_RUN_ACTIONS: list[argparse.Action] = []


def _mark_defaults(parser: argparse.ArgumentParser) -> None:
    _RUN_ACTIONS.clear()
    for action in parser._actions:
        if action.dest in ("help", "config", "overrides"):
            continue
        action.default = _Default(action.default)
        _RUN_ACTIONS.append(action)


def _config_value(action: argparse.Action, key: str, value, where: str):
    """A TOML value checked and converted as the flag would convert it."""
    flag = action.option_strings[0]

    def bad(expected: str):
        return UserError(f"{where}: {key} = {value!r} is not {expected} (as {flag} takes).")

    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if action.type is int_list:
        if isinstance(value, bool):
            raise bad("a list of integers")
        if isinstance(value, int):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return list(value)
        if isinstance(value, str):
            try:
                return int_list(value)
            except argparse.ArgumentTypeError:
                pass
        raise bad("an integer or a list of integers, e.g. [24, 48, 64]")
    if action.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if not isinstance(value, str):
        raise bad("a string")
    if action.choices and value not in action.choices:
        raise bad(f"one of {', '.join(action.choices)}")
    return value


def load_run_config(path: str) -> tuple[dict, dict]:
    """The flags (by argparse dest) and the ``set`` table of a `zshbench run --config` file.

    Keys are the flags' names without the leading dashes (``data-root`` or ``data_root``); ``set`` is a table of
    method config keys. Paths in it are taken like the flags' (relative to the current folder).

    Raises:
        UserError: a missing or malformed file, an unknown key (naming the valid ones), a value of the wrong type.
    """
    from pathlib import Path

    import tomllib

    p = Path(path)
    if not p.is_file():
        raise UserError(f'--config {p}: no such file. Name a TOML file with the run\'s flags, e.g. method = "lsh".')
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"--config {p} is not valid TOML: {exc}.") from None
    by_key = {a.option_strings[0][2:]: a for a in _RUN_ACTIONS}
    out, overrides = {}, {}
    for key, value in data.items():
        name = key.replace("_", "-")
        if name == "set":
            if not isinstance(value, dict):
                raise UserError(f"{p}: set must be a table of method config keys, e.g. set = {{ n_iter = 50 }}.")
            overrides = dict(value)
            continue
        action = by_key.get(name)
        if action is None:
            from zshbench.errors import close_matches

            valid = ", ".join(sorted([*by_key, "set"]))
            raise UserError(
                f"{p}: unknown key '{key}'.{close_matches(name, [*by_key, 'set'], n=1)} Valid keys (the flags of "
                f"'zshbench run' without dashes; '_' or '-'): {valid}."
            )
        out[action.dest] = _config_value(action, key, value, str(p))
    return out, overrides


def resolve_run_args(args) -> argparse.Namespace:
    """``args`` of `zshbench run` with --config applied: a flag given on the command line wins over the file, the
    file over the flag's default; ``set`` keys are merged with --set (the command line's win)."""
    values, file_set = load_run_config(args.config) if args.config else ({}, {})
    for action in _RUN_ACTIONS:
        v = getattr(args, action.dest, None)
        if isinstance(v, _Default):
            setattr(args, action.dest, values.get(action.dest, v.value))
    if file_set:
        merged = dict(file_set)
        for pair in args.overrides:
            if "=" not in pair:
                merged = list(args.overrides)  # parse_overrides names the malformed pair
                break
            k, v = pair.split("=", 1)
            merged[k.strip()] = v.strip()
        args.overrides = merged
    missing = [f"--{k}" for k in ("method", "dataset") if not getattr(args, k)]
    if missing:
        raise UserError(
            f"zshbench run needs {' and '.join(missing)}: give them on the command line (e.g. --method lsh "
            '--dataset shapes) or in a --config file (method = "lsh").'
        )
    return args


mark_defaults = _mark_defaults


def config_provenance(path: str | None) -> dict | None:
    """What a run's record keeps of its ``--config`` file (in ``extras["run_config_file"]``): the file's name,
    sha256 and full text. Not part of the run's identity: the resolved configuration is (the same experiment
    made from flags or from a file is one record); the text says how the run was asked for."""
    if not path:
        return None
    import hashlib
    from pathlib import Path

    data = Path(path).read_bytes()
    return {
        "run_config_file": {
            "name": Path(path).name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "content": data.decode("utf-8"),
        }
    }
