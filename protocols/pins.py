"""Pins: the content hash of every built-in protocol version (``pins.json``), checked wherever a protocol enters
(`enforce_pin`), and for records (`check_pin`). Pins are written by maintainers only (`archive_protocol`, then
`pin_protocol`)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from zshbench.errors import UnknownNameError, UserError, did_you_mean
from zshbench.protocols.model import Protocol, _show, protocol_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["check_pin", "is_pinned_name", "pinned_versions", "enforce_pin", "pin_protocol", "archive_protocol"]


def _pins() -> dict[str, str]:
    p = protocol_dir() / "pins.json"
    return json.loads(p.read_text()) if p.exists() else {}


def pinned_versions(name: str) -> list[str]:
    """The pinned versions of protocol ``name``, oldest first (empty when it is not a pinned protocol's name)."""
    from zshbench.protocols.load import _version_key

    return sorted((k.rsplit("@", 1)[1] for k in _pins() if k.rsplit("@", 1)[0] == name), key=_version_key)


def is_pinned_name(name: str) -> bool:
    """True when ``name`` is the name of a built-in, pinned protocol (any version)."""
    return bool(pinned_versions(str(name)))


def check_pin(name: str, version: str, sha256: str) -> str | None:
    """Check a protocol's (name, version, content sha256) against ``pins.json``, e.g. those of a record.

    Returns:
        None when the triple matches a pin, or when ``name`` is not a pinned protocol's name (users' own
        protocols); else a one-line description of the problem.
    """
    name, version, sha256 = str(name), str(version), str(sha256)
    versions = pinned_versions(name)
    if not versions:
        return None
    pin = _pins().get(f"{name}@{version}")
    if pin is None:
        return (
            f"protocol '{name}' version {version!r} is not pinned (pinned version(s) of '{name}': "
            f"{', '.join(versions)})"
        )
    if pin != sha256:
        return (
            f"protocol '{name}' version {version} has content sha256 {sha256[:12]}, but its pin is {pin[:12]}: "
            "the protocol was edited"
        )
    return None


def _is_builtin_file(path: str) -> bool:
    return bool(path) and Path(path).resolve().parent == protocol_dir()


def _field_diff(mine: dict[str, Any], builtin: dict[str, Any]) -> list[str]:
    """The keys whose values differ between two parsed protocols, as 'key (mine here, theirs in the built-in)'."""
    out = []
    for k in sorted(set(mine) | set(builtin)):
        a, b = mine.get(k, "<absent>"), builtin.get(k, "<absent>")
        if a == b:
            continue
        if k == "counts" and isinstance(a, dict) and isinstance(b, dict):
            out += [
                f"counts.{c} ({_show(a.get(c, '<absent>'))} here, {_show(b.get(c, '<absent>'))} in the built-in)"
                for c in sorted(set(a) | set(b))
                if a.get(c, "<absent>") != b.get(c, "<absent>")
            ]
        elif k in ("seen", "unseen") and isinstance(a, list) and isinstance(b, list):
            added, removed = [c for c in a if c not in b], [c for c in b if c not in a]
            out.append(
                f"{k} ({len(added)} class(es) added, {len(removed)} removed)"
                if added or removed
                else f"{k} (the same classes in another order)"
            )
        elif k == "provenance":
            out.append("provenance (the text differs)")
        else:
            out.append(f"{k} ({_show(a)} here, {_show(b)} in the built-in)")
    return out


def enforce_pin(proto: Protocol, d: dict[str, Any]) -> Protocol:
    """``proto`` with ``pinned`` set, or a `UserError` when it is named like a built-in protocol but matches none
    of its pins."""
    problem = check_pin(proto.name, proto.version, proto.sha256)
    if problem is None:
        return replace(proto, pinned=is_pinned_name(proto.name))
    versions = pinned_versions(proto.name)
    pin_key = f"{proto.name}@{proto.version}"
    if _is_builtin_file(proto.path):
        if pin_key not in _pins():
            raise UserError(
                f"Protocol '{proto.name}' version {proto.version} is not pinned in {protocol_dir() / 'pins.json'} "
                f"(pinned versions: {', '.join(versions)}). Built-in protocols are versioned data: maintainers pin a "
                "new version with zshbench.protocols.resolve.pin_protocol(name) (there is no CLI command for it)."
            )
        raise UserError(
            f"Protocol file {proto.path} does not match its pin for version {proto.version} (sha256 "
            f"{proto.sha256[:12]} != {_pins()[pin_key][:12]}): it was edited without a new version. Restore the "
            "file, or (maintainers) bump 'version' and pin it with zshbench.protocols.resolve.pin_protocol(name)."
        )
    where = f"Protocol file {proto.path}" if proto.path else "A protocol"
    fix = (
        f"Use the built-in protocol (--protocol {proto.name}), or give yours its own name (e.g. name = "
        f'"{proto.name}-custom"): records are filed under the protocol\'s name, so a changed copy would be '
        "mixed with the results of the real protocol."
    )
    if pin_key not in _pins():
        raise UserError(
            f"{where} is named '{proto.name}', a built-in pinned protocol, but its version {proto.version!r} is not "
            f"pinned (pinned version(s): {', '.join(versions)}). {fix}"
        )
    from zshbench.protocols.load import archive_path

    diff: list[str] = []
    for builtin in (protocol_dir() / f"{proto.name}.toml", archive_path(proto.name, proto.version)):
        try:
            theirs = tomllib.loads(builtin.read_text(encoding="utf-8")) if builtin.is_file() else None
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            theirs = None
        if isinstance(theirs, dict) and str(theirs.get("version")) == proto.version:
            diff = _field_diff(d, theirs)  # compared with the built-in file of the same version
            break
    what = (
        f"these fields differ from the built-in file: {'; '.join(diff)}"
        if diff
        else f"its content sha256 {proto.sha256[:12]} differs from the pin {_pins()[pin_key][:12]}"
    )
    raise UserError(
        f"{where} is named '{proto.name}', version {proto.version}, like the built-in pinned protocol, "
        f"but {what}. {fix}"
    )


def archive_protocol(name: str) -> Path:
    """Copy built-in protocol ``name``'s current file, byte for byte, to ``protocols/<name>@<version>.toml``
    (maintainers, before editing the file for a new version): older versions stay loadable as
    ``name@version`` and their records verifiable.

    Returns:
        the archive's path (left as it is when it already holds the same bytes).

    Raises:
        UserError: the archive exists with other content, or the current version is not pinned.
    """
    from zshbench.protocols.load import _protocol_files, archive_path, list_protocols, parse_protocol_file

    path = _protocol_files().get(name)
    if path is None or path.parent != protocol_dir():
        raise UnknownNameError(did_you_mean(name, list_protocols(), "built-in protocol"))
    proto = parse_protocol_file(path)
    if not proto.pinned:
        raise UserError(
            f"Protocol '{name}' version {proto.version} is not pinned; pin it (pin_protocol) before archiving it."
        )
    target = archive_path(name, proto.version)
    data = path.read_bytes()
    if target.exists() and target.read_bytes() != data:
        raise UserError(
            f"{target} exists with other content; an archive is the old file byte for byte: restore it "
            "from version control instead of overwriting it."
        )
    target.write_bytes(data)
    return target


def pin_protocol(name: str) -> str:  # noqa: D401
    """Record the sha256 of built-in protocol ``name`` at its current version in ``pins.json`` (maintainers).

    Refuses to overwrite the pin of an existing version with another hash (a changed protocol needs a new
    version), and to pin a new version while an older pinned version has no archive matching its pin
    (`archive_protocol`): every pinned version must stay loadable.
    """
    from zshbench.protocols.load import _protocol_files, archive_path, list_protocols, parse_protocol_file

    path = _protocol_files().get(name)
    if path is None or path.parent != protocol_dir():
        raise UnknownNameError(did_you_mean(name, list_protocols(), "built-in protocol"))
    proto = parse_protocol_file(path, enforce_pin=False)
    pins = _pins()
    key = f"{proto.name}@{proto.version}"
    if key in pins and pins[key] != proto.sha256:
        raise UserError(
            f"Protocol '{proto.name}' version {proto.version} is already pinned with another content hash; "
            "bump its version to change it."
        )
    for old in pinned_versions(name):
        arch = archive_path(name, old)
        if old != proto.version and (
            not arch.is_file() or parse_protocol_file(arch, enforce_pin=False).sha256 != pins[f"{name}@{old}"]
        ):
            raise UserError(
                f"Pinned version {old} of protocol '{name}' has no archive matching its pin at {arch}. "
                f"Restore the version-{old} file there byte for byte (archive_protocol(name) copies the "
                "current file before it is edited), then pin again."
            )
    pins[key] = proto.sha256
    (protocol_dir() / "pins.json").write_text(json.dumps(dict(sorted(pins.items())), indent=2) + "\n")
    return proto.sha256
