"""`ihub-conformance run` end to end: verdict, reports, exit codes, faults, no key leaks.

Each full run costs seconds, so these are few and select tests with ``-k``
except the one run that proves the whole suite passes against the reference hub.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ihub_conformance.cli import main
from ihub_conformance.contract.catalog import load_catalog
from ihub_conformance.secrets.scan import contains_literal
from ihub_conformance.suite.report import schema_violations

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "fixtures" / "cassettes" / "v1"
CANARY = "ihub-canary-Zq3vX9mK2pL7wR4tY8uN1bC6"
UNBOUND_CANARY = "ihub-canary-unbound-Hd5jF2sA9gK4lP7q"


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.slow
def test_reference_run_is_conformant_and_leaks_no_key(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPS_HUB_KEY", CANARY)
    monkeypatch.setenv("IHUB_UNBOUND_KEY", UNBOUND_CANARY)
    reports = tmp_path / "reports"
    code, output = _run(["--report-dir", str(reports), "--examples", "3"], capsys)
    assert code == 0, output[-3000:]
    doc = json.loads((reports / "conformance.json").read_text())
    assert schema_violations(doc) == []
    assert doc["verdict"] == "pass" and doc["target"]["mode"] == "reference"
    status = {r["id"]: r["status"] for r in doc["requirements"]}
    catalog = load_catalog("v1")
    assert set(status) == set(catalog.ids())
    for req in catalog:
        if req.is_must and req.kind == "behaviour":
            assert status[req.id] == "passed", req.id
    assert doc["written"], "the reference run writes widgets and events"
    assert all(doc["runId"] in w["name"] or w["kind"] == "interaction-event"
               for w in doc["written"])
    junit = (reports / "junit.xml").read_text()
    assert '<property name="requirement" value="EVT-10"' in junit
    assert any((reports / "allure-results").glob("*-result.json"))
    report = (reports / "report.md").read_text()
    assert "Verdict: PASS" in report and "| EVT-11 | MUST | behaviour | passed |" in report
    assert "verdict: PASS" in output
    for secret in (CANARY, UNBOUND_CANARY):
        assert not contains_literal(output, secret)
        leaks = [p for p in _files(reports) if contains_literal(p.read_bytes(), secret)]
        assert not leaks


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "requirement", "tests"), [
    ("accept_undeclared_event_type", "EVT-10", "test_manifest_gating"),
    ("honour_client_occurred_at", "EVT-11", "occurred_at"),
    ("skip_auth_on_lists", "WID-01", "test_auth"),
    ("counts_as_strings", "EVT-02", "test_pagination"),
])
def test_faulty_reference_hub_is_not_conformant(tmp_path: Path, capsys, fault: str,
                                               requirement: str, tests: str) -> None:
    # Only the tests of the fault's area run (the whole suite costs seconds a run);
    # `nox -s mutants` runs everything against every fault.
    reports = tmp_path / "reports"
    code, output = _run(["--report-dir", str(reports), "--fault", fault, "-k", tests], capsys)
    assert code == 1, output[-2000:]
    doc = json.loads((reports / "conformance.json").read_text())
    assert doc["verdict"] == "fail" and doc["faults"] == [fault]
    assert requirement in doc["brokenRequirements"]
    assert "broken requirements:" in output and requirement in output
    assert requirement in (reports / "report.md").read_text().split("## Requirement matrix")[0]


def test_closed_port_exits_3_promptly(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPS_HUB_KEY", CANARY)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    code, output = _run(["--target", f"http://127.0.0.1:{port}",
                         "--report-dir", str(tmp_path)], capsys)
    assert code == 3
    assert time.monotonic() - started < 10
    assert "unreachable" in output and not contains_literal(output, CANARY)


@pytest.mark.parametrize(("argv", "says"), [
    (["--target", "ftp://example.invalid"], "--target"),
    (["--target", "https://hub.example.invalid", "--key-env", "IHUB_TEST_NO_SUCH_KEY"],
     "IHUB_TEST_NO_SUCH_KEY is not set"),
    (["--contract", "v9"], "v9"),
    (["--examples", "0"], "--examples"),
    (["--target", "replay", "--record"], "--record"),
    (["--fault", "no_such_fault"], "no_such_fault"),
])
def test_usage_errors_exit_2(tmp_path: Path, capsys, argv: list[str], says: str) -> None:
    code, output = _run([*argv, "--report-dir", str(tmp_path)], capsys)
    assert code == 2
    assert says in output and "Traceback" not in output


def test_bad_assumptions_file_exits_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "assumptions.yaml"
    bad.write_text("no_such_section: {a: 1}\n")
    code, output = _run(["--assumptions", str(bad), "--report-dir", str(tmp_path)], capsys)
    assert code == 2
    assert str(bad) in output and "no_such_section" in output


def test_replay_of_another_contract_version_is_refused(tmp_path: Path, capsys) -> None:
    code, output = _run(["--target", "replay", "--contract", "v0", "--cassette-dir",
                         str(CASSETTES), "--report-dir", str(tmp_path)], capsys)
    assert code == 2
    assert "recorded for contract v1" in output and "contract v0" in output


_BLOCK_NETWORK = textwrap.dedent('''
    import socket
    _connect = socket.socket.connect
    def _refuse(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError("network blocked by the test (replay must stay offline)")
        return _connect(self, address, *args, **kwargs)
    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
''')


@pytest.mark.slow
def test_replay_passes_with_the_network_blocked(tmp_path: Path) -> None:
    # sitecustomize runs in this process and in the pytest child the runner starts.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_BLOCK_NETWORK)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", "run", "--target", "replay",
         "--report-dir", str(reports)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    doc = json.loads((reports / "conformance.json").read_text())
    assert doc["target"] == {"mode": "replay", "url": None}
    assert doc["counts"]["failed"] == doc["counts"]["error"] == 0
    assert doc["counts"]["passed"] > 50
    assert doc["written"] == []
    # The blocker really was active: a connect attempt under it fails.
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection("
                            "('127.0.0.1', 9), timeout=1)"], env=env, capture_output=True,
                           text=True, check=False)
    assert "network blocked by the test" in probe.stderr


def test_suite_is_found_from_the_checkout() -> None:
    from ihub_conformance._paths import suite_dir

    assert (suite_dir() / "conftest.py").is_file()
    assert shutil.which("ihub-conformance") or True  # the console script may be absent
