"""Exceptions of zshbench.

`UserError` marks a mistake in what the user asked for (an unknown name, a bad value, a missing file). The CLI
prints its one-paragraph message without a traceback and exits with code 2. Every message says what was wrong,
what was expected and how to fix it.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's input; the CLI shows it without a traceback and exits with code 2."""


class UnknownNameError(UserError, KeyError):
    """An unknown method, dataset, protocol or metric name."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class NotFittedError(UserError, AttributeError):
    """`encode` (or `state_dict`) was called on a hasher that was never fitted."""


class DataError(UserError):
    """Data on disk is missing, partial or malformed."""


class RecordError(UserError):
    """A result record is unreadable or does not follow the schema.

    ``problems`` lists every problem found in the record (one sentence each); ``where`` names the file.
    """

    def __init__(self, message: str, problems: list[str] | None = None, where: str | None = None):
        super().__init__(message)
        self.problems = list(problems or [message])
        self.where = where

    @classmethod
    def many(cls, where: str, problems: list[str]) -> RecordError:
        text = "; ".join(problems)
        n = len(problems)
        return cls(f"{where}: {n} problem{'s' if n > 1 else ''}: {text}.", problems, where)


def did_you_mean(name: str, available, kind: str) -> str:
    """The message for an unknown ``name`` of a ``kind`` ("method", "metric", "config key", ...): close matches
    first, then everything available. The one implementation every "unknown name" message uses."""
    available = [str(a) for a in available]
    everything = ", ".join(sorted(available)) or "(none)"
    return f"Unknown {kind} '{name}'.{close_matches(name, available)} Available: {everything}."


def close_matches(name: str, choices, n: int = 3, cutoff: float = 0.5) -> str:
    """ " Did you mean: a, b?" for the choices close to ``name`` ("" when none is close): the hint of every
    "unknown name" message (`did_you_mean` adds the list of everything available)."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=n, cutoff=cutoff)
    return f" Did you mean: {', '.join(close)}?" if close else ""
