"""One exception tree for simulacra.

Every message says what is wrong, where (file, table, column, row) and how to
fix it, so that the command line can print it as it is, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "BudgetError",
    "InputError",
    "InvalidDataError",
    "InvalidParameterError",
    "MissingExtraError",
    "ModelFileError",
    "NotFittedError",
    "SimulacraError",
    "SpecError",
    "UnknownFamilyError",
]


class SimulacraError(Exception):
    """Root of every error simulacra raises on purpose."""


class InputError(SimulacraError, ValueError):
    """A file, path or source cannot be read or written as asked."""


class InvalidDataError(SimulacraError, ValueError):
    """The data or its metadata has problems; ``problems`` lists every one."""

    def __init__(self, problems: list[str] | str, *, where: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.where = where
        head = f"{where}: " if where else ""
        if len(self.problems) == 1:
            message = head + self.problems[0]
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{head}{len(self.problems)} problems found:\n{lines}"
        super().__init__(message)


class SpecError(InvalidDataError):
    """A generation spec has problems; each names the line, table, column and the fix."""


class InvalidParameterError(SimulacraError, ValueError):
    """A synthesizer parameter has a value that is not allowed."""


class UnknownFamilyError(SimulacraError, KeyError):
    """No synthesizer family is registered under the given name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingExtraError(SimulacraError, ImportError):
    """An optional dependency is not installed; the message names the pip extra."""


class ModelFileError(SimulacraError, ValueError):
    """A model file is corrupt, tampered with, or from an incompatible version."""


class NotFittedError(SimulacraError, ValueError):
    """The synthesizer must be fitted before it can sample or be saved."""


class BudgetError(SimulacraError, ValueError):
    """A differential-privacy budget is spent, or a spend would go past it."""
