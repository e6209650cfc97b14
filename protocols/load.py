"""Finding and reading protocol files: by name (built-in ``protocols/*.toml`` and added folders), by
``name@version`` (an older version, archived byte for byte as ``protocols/<name>@<version>.toml``) or by path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from zshbench.errors import UnknownNameError, UserError, did_you_mean
from zshbench.protocols.model import Protocol, content_sha256, protocol_dir
from zshbench.protocols.pins import is_pinned_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "list_protocols",
    "load_protocol",
    "parse_protocol_file",
    "add_protocol_dir",
    "protocol_versions",
    "archive_path",
]

_EXTRA_DIRS: list[Path] = []


def _protocol_files() -> dict[str, Path]:
    """name -> the file of its current version (archived versions, ``<name>@<version>.toml``, are left out)."""
    files: dict[str, Path] = {}
    for d in [protocol_dir(), *_EXTRA_DIRS]:
        for f in sorted(d.glob("*.toml")):
            if "@" not in f.stem:
                files[f.stem] = f
    return files


def archive_path(name: str, version: str, directory: Path | None = None) -> Path:
    """Where version ``version`` of protocol ``name`` is archived once a newer version replaces it: the old file,
    byte for byte, as ``<name>@<version>.toml`` next to the current ``<name>.toml``."""
    return (directory or protocol_dir()) / f"{name}@{version}.toml"


def _version_key(v: str) -> tuple:
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


def protocol_versions(name: str) -> list[str]:
    """The versions of protocol ``name`` that can be loaded (the current file's and the archived ones), oldest
    first; empty for an unknown name."""
    path = _protocol_files().get(name)
    if path is None:
        return []
    versions = {f.stem.rsplit("@", 1)[1] for f in path.parent.glob(f"{name}@*.toml")}
    try:
        versions.add(str(tomllib.loads(path.read_text(encoding="utf-8")).get("version")))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        pass
    return sorted(versions, key=_version_key)


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
        raise UserError(
            f"Protocol file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); TOML files "
            "must be UTF-8. Save it as UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"Protocol file {path} is not valid TOML: {exc}.") from None


def parse_protocol_file(path: str | Path, *, enforce_pin: bool = True) -> Protocol:
    """Parse and validate a protocol file (see `Protocol.from_dict`), checking its pin when it is named like a
    built-in protocol."""
    path = Path(path)
    d = _read_toml(path)
    return Protocol.from_dict(d, path=str(path), sha256=content_sha256(d), enforce_pin=enforce_pin)


def load_protocol(name_or_path: str) -> Protocol:
    """Load a protocol by name (``shapes-zsh``: its newest version), by ``name@version`` (``shapes-zsh@1``: that
    version, e.g. to verify or re-run a record of it) or by path to a ``.toml`` file.

    Wherever it comes from, a protocol named like a built-in protocol must match one of its pins in
    ``pins.json`` (name, version and content sha256); ``Protocol.pinned`` tells whether it did.

    Example:
        >>> load_protocol("shapes-zsh@1").version
        '1'

    Raises:
        UnknownNameError: an unknown protocol name.
        UserError: a missing or invalid file, a version that does not exist, or a pinned name whose version or
            content matches no pin.
    """
    name_or_path = str(name_or_path)
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return parse_protocol_file(name_or_path)
    if "@" in name_or_path:
        return _load_version(*name_or_path.rsplit("@", 1))
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


def _load_version(name: str, version: str) -> Protocol:
    """Version ``version`` of protocol ``name``: the current file when it has that version, else its archive."""
    if not name or not version.strip():
        raise UserError(
            f"Protocol reference '{name}@{version}' is incomplete: write NAME@VERSION, e.g. "
            "shapes-zsh@1 (or just the name for the newest version)."
        )
    current = load_protocol(name)  # checks the name, the pin of the current file and its declared name
    if current.version == version:
        return current
    path = archive_path(name, version, Path(current.path).parent)
    if not path.is_file():
        raise UserError(
            f"Protocol '{name}' has no version {version!r}; its versions: "
            f"{', '.join(protocol_versions(name))} (newest: {current.version}, loaded by the name alone)."
        )
    proto = parse_protocol_file(path)
    if (proto.name, proto.version) != (name, version):
        raise UserError(
            f"Archived protocol file {path} declares {proto.name}@{proto.version}, but its file name says "
            f"{name}@{version}. Restore the archive: it must be the old file, byte for byte."
        )
    return proto
