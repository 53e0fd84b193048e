"""The one run-id format, shared by `run` and `gate`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ihub_conformance.hub.run_id import RUN_ID_PATTERN, new_run_id
from ihub_conformance.secrets.scan import scan_text

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_gets_the_same_format_and_fresh_ids() -> None:
    ids = {new_run_id(command) for command in ("gate", "run") for _ in range(20)}
    assert all(RUN_ID_PATTERN.fullmatch(i) for i in ids), ids
    assert len(ids) > 30  # six random digits: a repeat in 40 draws is ~1e-3 likely


def test_the_gate_reports_schema_accepts_the_format() -> None:
    schema = json.loads((ROOT / "contracts/reports/gate.schema.json").read_text())
    assert re.fullmatch(schema["properties"]["runId"]["pattern"], new_run_id("gate"))
    assert not re.fullmatch(schema["properties"]["runId"]["pattern"], new_run_id("run"))


def test_a_run_id_is_never_taken_for_a_secret() -> None:
    text = "\n".join(f"name: conformance-{new_run_id('run')}" for _ in range(200))
    assert scan_text(text) == []
