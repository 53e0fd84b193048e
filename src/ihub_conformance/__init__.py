"""ihub-conformance: contract tests and conformance checks for Inter-Hub evidence intake.

The public API, re-exported here (the subpackages' own modules may change)::

    from ihub_conformance import load_contract, validator_for, check_stream, run_gate

Names load on first use, so ``import ihub_conformance`` (and the command line)
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

# public name -> the module that defines it
_LAZY = {
    "Assumptions": "ihub_conformance.contract",
    "load_assumptions": "ihub_conformance.contract",
    "Catalog": "ihub_conformance.contract",
    "load_catalog": "ihub_conformance.contract",
    "Contract": "ihub_conformance.contract",
    "load_contract": "ihub_conformance.contract",
    "Violation": "ihub_conformance.validation",
    "validator_for": "ihub_conformance.validation",
    "Finding": "ihub_conformance.stream",
    "StreamSummary": "ihub_conformance.stream",
    "check_stream": "ihub_conformance.stream",
    "GateConfig": "ihub_conformance.gate",
    "GateResult": "ihub_conformance.gate",
    "run_gate": "ihub_conformance.gate",
    "RunningHub": "ihub_conformance.reference.server",
    "running_reference_hub": "ihub_conformance.reference.server",
}

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "Assumptions",
    "Catalog",
    "ConformanceError",
    "Contract",
    "Finding",
    "GateConfig",
    "GateResult",
    "InputError",
    "RunningHub",
    "StreamSummary",
    "TargetUnreachable",
    "Violation",
    "__version__",
    "check_stream",
    "load_assumptions",
    "load_catalog",
    "load_contract",
    "run_gate",
    "running_reference_hub",
    "validator_for",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ihub_conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # static tools see the lazy names as plain imports
    from ihub_conformance.contract import (
        Assumptions,
        Catalog,
        Contract,
        load_assumptions,
        load_catalog,
        load_contract,
    )
    from ihub_conformance.gate import GateConfig, GateResult, run_gate
    from ihub_conformance.reference.server import RunningHub, running_reference_hub
    from ihub_conformance.stream import Finding, StreamSummary, check_stream
    from ihub_conformance.validation import Violation, validator_for
