"""Names that become parts of paths, and writes that must stay inside the folder the user named.

Every name that zshbench turns into a path component (dataset, protocol, method, config hash, record file
names) is checked by `check_name` where it enters: lower-case letters, digits, '.', '_' and '-', starting with
a letter or digit, so a name can never be '..', empty, absolute or contain a separator. Every writer builds
its target with `inside`, which resolves the path and refuses anything outside its root (a symlink pointing
out of the tree included).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from zshbench.errors import UserError

__all__ = ["NAME_RE", "check_name", "is_valid_name", "inside", "check_writable_dir", "slug"]

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
MAX_NAME = 120


def is_valid_name(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_NAME
        and NAME_RE.fullmatch(value) is not None
        and ".." not in value
    )


def check_name(value: object, what: str, fix: str = "") -> str:
    """Return ``value`` if it is a safe path component, else raise `UserError` naming ``what``.

    Args:
        value: the name to check.
        what: what the name is, for the message (e.g. "protocol name in /data/pets/protocol.toml").
        fix: one sentence on how to fix it (optional).
    """
    if is_valid_name(value):
        return value  # type: ignore[return-value]
    raise UserError(
        f"Invalid {what}: {value!r}. Names that become folder or file names must match "
        f"[a-z0-9][a-z0-9._-]* (lower-case letters, digits, '.', '_', '-'; no '..', no '/', at most "
        f"{MAX_NAME} characters). {fix or 'Rename it.'}"
    )


def slug(text: str) -> str:
    """A safe path component made from any text (lower-cased; other characters become '-')."""
    s = re.sub(r"[^a-z0-9._-]+", "-", str(text).lower()).strip("-._")
    s = re.sub(r"\.{2,}", ".", s)
    return s[:MAX_NAME] or "unnamed"


def inside(root: str | os.PathLike, *parts: str) -> Path:
    """``root/parts...``, resolved, refused with `UserError` when it lies outside ``root`` (resolved).

    Use for every path a writer builds from names it did not choose itself.
    """
    base = Path(root).resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise UserError(
            f"Refusing to write {target}: it lies outside {base}, the folder this command writes into "
            f"(built from the name(s) {', '.join(map(repr, parts))}). zshbench never writes outside the folder "
            "you named; check the names in the records or protocol files involved."
        )
    return target


def check_writable_dir(path: str | os.PathLike, flag: str) -> Path:
    """Check, before any work, that ``path`` is (or can be created as) a writable directory. Nothing is created:
    a probe file is made and removed in ``path`` or its nearest existing ancestor.

    Raises:
        UserError: ``path`` is empty, is a file, lies under a file, or cannot be written (naming ``flag``).
    """
    import tempfile

    if str(path) == "":
        raise UserError(f"{flag} is empty: name the folder to write into, e.g. {flag} results.")
    p = Path(path)
    probe = p
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(
            f"{flag} {p} cannot be used as a folder: {probe} is a file. Name a folder (it is created if missing)."
        )
    try:  # os.access is not enough: read-only mounts and immutable folders (chattr +i) refuse root too
        fd, tmp = tempfile.mkstemp(prefix=".zshbench-write-test-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UserError(
            f"{flag} {p} is not writable ({exc.strerror or exc}; tried in {probe}). Choose another folder or fix its "
            "permissions."
        ) from None
    return p
