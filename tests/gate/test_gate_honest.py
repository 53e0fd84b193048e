"""Honest gate checks: nothing examined is `blocked`; an accepted key must also be needed."""

from __future__ import annotations

import pytest

from gate_helpers import canary_key, live_args, run_gate_cli, use_key
from ihub_conformance.gate.model import BLOCKED, CheckOutcome
from ihub_conformance.reference.server import running_reference_hub


def test_a_check_without_evidence_is_blocked_not_passed():
    out = CheckOutcome("3").settle("all seed widgets exist")
    assert out.status == BLOCKED and "examined nothing" in out.summary


def test_gate_4_with_nothing_to_scan_is_blocked(keyed, tmp_path, capsys):
    run = run_gate_cli(capsys, tmp_path / "r", "--target", keyed.base_url,
                       "--state-hub", keyed.base_url)
    gate4 = run.check("4")
    assert gate4["status"] == "blocked", gate4
    assert "no file was scanned" in gate4["summary"]
    assert "appears in none of 0" not in run.out
    assert run.code == 1


@pytest.mark.parametrize("fault", ["skip_auth_on_lists", "accept_wrong_key"])
def test_gate_4_fails_when_the_key_is_not_needed(fault, tmp_path, capsys, monkeypatch):
    key = canary_key()
    use_key(monkeypatch, key)
    with running_reference_hub(key=key, faults=frozenset({fault})) as hub:
        run = run_gate_cli(capsys, tmp_path / "r", *live_args(hub))
    gate4 = run.check("4")
    assert gate4["status"] == "fail", gate4
    assert any("the key is not needed" in item["what"] for item in run.failures("4"))
    assert run.code == 1


def test_gate_4_passes_when_the_key_is_needed_and_accepted(keyed, tmp_path, capsys):
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed))
    refused = [e for e in run.check("4")["evidence"] if "is refused" in e["what"]]
    assert len(refused) == 4 and all(e["ok"] for e in refused)
    assert run.check("4")["status"] == "pass"
