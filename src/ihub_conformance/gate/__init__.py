"""The pre-deploy gate: the six production gates, the State Hub fallback and vocabulary drift.

    from ihub_conformance.gate import GateConfig, run_gate, write_reports
    result = run_gate(GateConfig(target="reference", mapping="mapping.json"))
    result.exit_code  # 0 go, 1 a required check failed or is blocked, 3 target unreachable
"""

from __future__ import annotations

from ihub_conformance.gate.context import GateConfig
from ihub_conformance.gate.model import ALL_CHECKS, DEFAULT_REQUIRED, CheckOutcome, Evidence
from ihub_conformance.gate.report import table, write_reports
from ihub_conformance.gate.runner import GateResult, run_gate

__all__ = ["ALL_CHECKS", "DEFAULT_REQUIRED", "CheckOutcome", "Evidence", "GateConfig",
           "GateResult", "run_gate", "table", "write_reports"]
