"""Finding and reading protocol files: by name (built-in ``protocols/*.toml`` and added folders) or by path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zshbench.errors import UnknownNameError, UserError, did_you_mean
from zshbench.protocols.model import protocol_dir, Protocol, content_sha256
from zshbench.protocols.pins import is_pinned_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["list_protocols", "load_protocol", "parse_protocol_file", "add_protocol_dir"]

_EXTRA_DIRS: list[Path] = []


def _protocol_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for d in [protocol_dir(), *_EXTRA_DIRS]:
        for f in sorted(d.glob("*.toml")):
            files[f.stem] = f
    return files


def add_protocol_dir(path: str | Path) -> None:
    """Make the protocol files of ``path`` available by name (users' own protocols; not pinned)."""
    _EXTRA_DIRS.append(Path(path))


def list_protocols() -> list[str]:
    return sorted(_protocol_files())


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"Protocol file {path} does not exist.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"Protocol file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); TOML files "
                        "must be UTF-8. Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"Protocol file {path} is not valid TOML: {exc}.") from None


def parse_protocol_file(path: str | Path, *, enforce_pin: bool = True) -> Protocol:
    """Parse and validate a protocol file (see `Protocol.from_dict`), checking its pin when it is named like a
    built-in protocol."""
    path = Path(path)
    d = _read_toml(path)
    return Protocol.from_dict(d, path=str(path), sha256=content_sha256(d), enforce_pin=enforce_pin)


def load_protocol(name_or_path: str) -> Protocol:
    """Load a protocol by name (``shapes-zsh``) or by path to a ``.toml`` file.

    Wherever it comes from, a protocol named like a built-in protocol must match one of its pins in
    ``pins.json`` (name, version and content sha256); ``Protocol.pinned`` tells whether it did.

    Raises:
        UnknownNameError: an unknown protocol name.
        UserError: a missing or invalid file, or a pinned name whose version or content matches no pin.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return parse_protocol_file(name_or_path)
    files = _protocol_files()
    if name_or_path not in files:
        raise UnknownNameError(did_you_mean(name_or_path, sorted(files), "protocol"))
    path = files[name_or_path]
    if path.parent == protocol_dir() and not is_pinned_name(name_or_path):
        raise UserError(
            f"Protocol '{name_or_path}' ({path}) has no pin in {protocol_dir() / 'pins.json'}. Built-in protocols are "
            "versioned data: maintainers pin it with zshbench.protocols.resolve.pin_protocol(name) (there is no CLI "
            "command for it)."
        )
    proto = parse_protocol_file(path)
    if proto.name != name_or_path:
        raise UserError(f"Protocol file {path} declares name '{proto.name}', but its file name says '{name_or_path}'.")
    return proto
