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
    def many(cls, where: str, problems: list[str]) -> "RecordError":
        text = "; ".join(problems)
        n = len(problems)
        return cls(f"{where}: {n} problem{'s' if n > 1 else ''}: {text}.", problems, where)
