"""The pre-deploy gate on the faithful configuration, read-only runs and usage errors."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import jsonschema
import pytest

from gate_helpers import (
    EXTERNAL,
    GATE_SCHEMA,
    MAPPING,
    RUNTIME,
    SECRETS,
    canary_key,
    clean_repo,
    live_args,
    run_gate_cli,
)

SIX = ["1", "2", "3", "4", "5", "6"]


@pytest.mark.requirement("GATE-01", "GATE-02", "GATE-03", "GATE-04", "GATE-05", "GATE-06",
                         "GATE-07", "FBK-01", "FBK-03", "FBK-04", "SEC-01", "ACS-06",
                         "ACS-09")
def test_faithful_configuration_passes_every_gate(tmp_path, capsys, monkeypatch):
    key = canary_key()
    monkeypatch.setenv("OPS_HUB_KEY", key)  # the embedded hub takes its key from here
    repo = clean_repo(tmp_path / "activity-core")
    run = run_gate_cli(capsys, tmp_path / "reports", "--target", "reference",
                       "--mapping", str(MAPPING), "--runtime-manifest", str(RUNTIME),
                       "--runtime-manifest", str(SECRETS), "--runtime-manifest", str(EXTERNAL),
                       "--scan-repo", str(repo))
    assert run.code == 0, run.out
    assert [run.status(g) for g in SIX] == ["pass"] * 6
    assert run.status("fallback") == "pass"
    assert run.report["verdict"] == "go"
    assert run.report["readOnly"] is False
    writes = run.report["writes"]
    assert writes["eventsCreated"] == 4 and writes["rejectedAttempts"] >= 1
    assert writes["storedByMistake"] == 0
    decision = run.report["fallbackDecision"]
    assert "not decided here" in decision and "every required gate passes" in decision
    assert run.check("fallback")["required"] is False  # beside the six gates (GATE-07)
    assert "inter_hub_sink on the fallback rows: inter_hub_sink_deferred (ACS-09, temporary)" \
        in run.check("fallback")["notes"]  # gate 5 passes: consistent, nothing more said
    assert "ops-access-path-checked" in run.check("fallback")["coveredEventTypes"]
    # the console table and the report paths
    assert "verdict: go (exit 0)" in run.out and "gate.json" in run.out
    assert key not in run.everything()


@pytest.mark.requirement("GATE-07")
def test_reports_validate_and_junit_has_one_case_per_gate(keyed, tmp_path, capsys):
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed))
    assert run.code == 0, run.out
    schema = json.loads(GATE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema,
                                                format_checker=jsonschema.FormatChecker())
    assert list(validator.iter_errors(run.report)) == []
    # the schema refuses a report that says "go" with a failing exit code
    bad = dict(run.report, exitCode=1)
    assert list(validator.iter_errors(bad))
    junit = run.files["junit.xml"]
    for gate in SIX:
        assert f'name="gate {gate}: ' in junit
    assert junit.count("<testcase ") == 8
    md = run.files["gate.md"]
    assert md.startswith("# Pre-deploy gate: GO") and "## State Hub fallback" in md
    assert keyed.key not in run.everything()


@pytest.mark.requirement("GATE-06", "GATE-07")
def test_read_only_run_reports_gate_6_blocked_not_pass(keyed, tmp_path, capsys):
    before = len(list(keyed.client().get("/api/v2/widgets",
                                          params={"pageSize": 200}).json()["data"]))
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed, writes=False))
    assert run.code == 1
    assert run.status("6") == "blocked"
    assert "read-only" in run.check("6")["summary"]
    assert [run.status(g) for g in SIX[:5]] == ["pass"] * 5
    assert any("read-only" in n for n in run.check("1")["notes"])
    assert run.report["writes"]["widgetsCreated"] == 0 and run.report["readOnly"] is True
    after = len(list(keyed.client().get("/api/v2/widgets",
                                        params={"pageSize": 200}).json()["data"]))
    assert after == before  # nothing written
    # gate 6 not required: the same read-only run is a go
    run = run_gate_cli(capsys, tmp_path / "r2",
                       *live_args(keyed, "--require", "1,2,3,4,5,fallback", writes=False))
    assert run.code == 0 and run.status("6") == "blocked"
    assert run.check("6")["required"] is False


@pytest.mark.requirement("GATE-02", "GATE-03")
def test_missing_mapping_blocks_the_gates_that_need_it(keyed, tmp_path, capsys):
    run = run_gate_cli(capsys, tmp_path / "r", "--target", keyed.base_url, "--allow-writes",
                       "--state-hub", keyed.base_url, "--rate-limit", "1000/s")
    assert run.code == 1
    assert run.status("3") == "blocked" and run.status("2") == "blocked"
    assert run.report["mapping"] is None


@pytest.mark.requirement("GATE-05")
def test_mapping_from_the_environment_as_json_text(keyed, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", MAPPING.read_text(encoding="utf-8"))
    args = [a for a in live_args(keyed) if a != str(MAPPING) and a != "--mapping"]
    run = run_gate_cli(capsys, tmp_path / "r", *args)
    assert run.code == 0, run.out
    assert run.report["mapping"] == "$OPS_HUB_WIDGET_MAPPING"


@pytest.mark.parametrize("args, message", [
    (["--require", "1,7"], "--require"),
    (["--target", "replay"], "replay"),
    (["--target", "ftp://x"], "--target"),
    (["--mapping", "/nonexistent/mapping.json"], "/nonexistent/mapping.json"),
    (["--runtime-manifest", "/nonexistent/runtime.yaml"], "/nonexistent/runtime.yaml"),
])
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPS_HUB_KEY", canary_key())
    run = run_gate_cli(capsys, tmp_path / "r", "--target", "http://127.0.0.1:9", *args)
    assert run.code == 2
    assert message in run.err and len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err


def test_scan_repo_that_is_not_a_work_tree_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPS_HUB_KEY", canary_key())
    (tmp_path / "plain").mkdir()
    run = run_gate_cli(capsys, tmp_path / "r", "--target", "http://127.0.0.1:9",
                       "--scan-repo", str(tmp_path / "plain"))
    assert run.code == 2 and "not a git work tree" in run.err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.requirement("GATE-07")
def test_unreachable_target_exits_3_promptly(tmp_path, capsys, monkeypatch):
    key = canary_key()
    monkeypatch.setenv("OPS_HUB_KEY", key)
    started = time.monotonic()
    run = run_gate_cli(capsys, tmp_path / "r", "--target", f"http://127.0.0.1:{_closed_port()}",
                       "--mapping", str(MAPPING))
    assert run.code == 3
    assert time.monotonic() - started < 10
    assert "unreachable" in run.report["unreachable"]
    assert run.status("1") == "blocked" and run.status("6") == "blocked"
    assert key not in run.everything()


def test_live_target_without_key_fails_gate_4_and_blocks_the_hub_gates(
        gate_hub, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPS_HUB_KEY", raising=False)
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(gate_hub))
    assert run.code == 1
    assert run.status("4") == "fail"
    assert "OPS_HUB_KEY is not set" in run.failures("4")[0]["what"]
    assert {run.status(g) for g in ("1", "2", "3", "6")} == {"blocked"}


def test_wrong_key_fails_gate_4(gate_hub, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPS_HUB_KEY", canary_key())
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(gate_hub))
    assert run.status("4") == "fail"
    assert run.failures("4")[0]["actual"] == "401"


def test_run_gate_api(keyed, tmp_path):
    from ihub_conformance.gate import GateConfig, run_gate, write_reports

    result = run_gate(GateConfig(target=keyed.base_url, mapping=str(MAPPING),
                                 runtime_manifests=[str(RUNTIME), str(SECRETS), str(EXTERNAL)],
                                 state_hub=keyed.base_url, allow_writes=True, report_dir=None,
                                 rate_limit="1000/s"))
    assert result.exit_code == 0 and result.verdict == "go"
    paths = write_reports(result, Path(tmp_path / "api"))
    assert {p.name for p in paths} == {"gate.json", "gate.md", "junit.xml"}
    assert "key=" not in repr(result)


def test_unwritable_report_dir_is_a_usage_error(keyed, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    run = run_gate_cli(capsys, blocker / "reports", *live_args(keyed))
    assert run.code == 2 and "--report-dir: cannot write the reports" in run.err
