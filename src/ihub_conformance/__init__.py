"""ihub-conformance: contract tests and conformance checks for Inter-Hub evidence intake."""

from __future__ import annotations

from ihub_conformance.assumptions import Assumptions, load_assumptions
from ihub_conformance.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ConformanceError,
    InputError,
    TargetUnreachable,
)

__version__ = "0.1.0"

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "Assumptions",
    "ConformanceError",
    "InputError",
    "TargetUnreachable",
    "__version__",
    "load_assumptions",
]
