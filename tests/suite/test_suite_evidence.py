"""Failures that reproduce, identities that do not collide, and a run that is safe on
production (issue 13, items 4, 5, 7 and 9), end to end through `ihub-conformance run`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from ihub_conformance.reference.server import running_reference_hub

pytestmark = pytest.mark.slow
FAULTS = ("accept_undeclared_event_type", "bad_json_500")
SEED = 7
PRE_SUITE = 2  # at most this many requests `run` sends itself before the suite starts


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ihub_conformance.cli", "run", *args],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """A deliberately failing reference run: hand-written and Schemathesis failures."""
    out = tmp_path_factory.mktemp("failing")
    args = ["--report-dir", str(out), "--examples", "3", "--seed", str(SEED),
            "-k", "manifest_gating or test_operation_conforms"]
    for fault in FAULTS:
        args += ["--fault", fault]
    return out, _run(*args)


def test_every_schemathesis_operation_is_its_own_junit_testcase(failing):
    out, done = failing
    assert done.returncode == 1, done.stdout[-3000:]
    tree = ET.parse(out / "junit.xml")  # noqa: S314 - our own file
    names = [case.get("name") for case in tree.iter("testcase")]
    operations = [n for n in names if n.startswith("test_operation_conforms[")]
    assert len(operations) >= 12 and len(set(operations)) == len(operations)
    assert len(set(names)) == len(names)
    assert not [p for p in tree.iter("property") if "hypothesis" in (p.get("name") or "")]
    assert "base64" not in (out / "junit.xml").read_text()


def test_failures_show_as_failures_with_their_own_history_ids(failing):
    out, _ = failing
    results = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    history = Counter(r["historyId"] for r in results)
    assert len(results) >= 14 and max(history.values()) == 1, history.most_common(3)
    failed = [r for r in results if r["status"] == "failed"]
    assert any(r["name"].startswith("test_operation_conforms[POST") for r in failed)
    assert any("undeclared" in r["name"] for r in failed)
    assert all(any(a["name"] == "reproduction" for a in r.get("attachments", []))
               for r in failed)


def test_a_hand_written_failure_carries_request_response_curl_and_rerun(failing):
    out, _ = failing
    tree = ET.parse(out / "junit.xml")  # noqa: S314 - our own file
    case = next(c for c in tree.iter("testcase")
                if c.get("name") == "test_registered_but_undeclared_event_types_are_refused")
    text = case.find("failure").text
    assert "request:  POST $IHUB_URL/api/v2/interaction-events" in text
    assert re.search(r"authorization: Bearer <OPS_HUB_KEY>", text, re.I)
    assert "response: 201 Created" in text and 'body: {"widgetId":' in text
    assert 'curl -sS -X POST "$IHUB_URL/api/v2/interaction-events"' in text
    assert 'Bearer $OPS_HUB_KEY"' in text
    rerun = ("rerun: ihub-conformance run --target reference --fault accept_undeclared_event_type"
             " --fault bad_json_500 -k test_registered_but_undeclared_event_types_are_refused")
    assert rerun in text
    report = (out / "report.md").read_text()
    assert rerun in report and "curl -sS -X POST" in report


def test_a_schemathesis_failure_keeps_its_curl_and_seed(failing):
    out, done = failing
    report = (out / "report.md").read_text()
    block = report[report.index("test_operation_conforms[POST"):]
    assert "curl -X POST" in block and "$IHUB_URL" in block
    assert f"--seed {SEED}" in block
    assert f"seed: {SEED}" in done.stdout


def test_the_reference_runs_objects_are_summarised(failing):
    out, done = failing
    report = (out / "report.md").read_text()
    assert "on the reference hub, discarded with it" in report
    assert "- widget `" not in report
    assert "[100%]" in done.stdout


@pytest.fixture(scope="module")
def logged_hub():
    log = io.StringIO()
    with running_reference_hub(access_log=log) as hub:
        yield hub, log


def _lines(log: io.StringIO, start: int) -> list[str]:
    return [line for line in log.getvalue()[start:].splitlines() if line.strip()]


def test_every_request_is_counted_and_no_undeclared_method_reaches_a_live_hub(
        logged_hub, tmp_path):
    hub, log = logged_hub
    start = len(log.getvalue())
    done = _run("--target", hub.base_url, "--allow-writes", "--rate-limit", "1000/s",
                "--examples", "2", "-k", "test_operation_conforms or test_widget_list",
                "--report-dir", str(tmp_path), env={"OPS_HUB_KEY": hub.key})
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr
    seen = _lines(log, start)
    report = json.loads((tmp_path / "conformance.json").read_text())
    # The suite counts every request it sent; run's own up-front probes (the preflight,
    # the register check) are the only ones more. Schemathesis's checks alone send dozens.
    assert 0 < len(seen) - report["requests"] <= PRE_SUITE, (len(seen), report["requests"])
    methods = Counter(line.split()[0] for line in seen if line.split())
    assert not {"DELETE", "PUT", "PATCH"} & set(methods), methods


def test_a_dry_run_sends_no_write(logged_hub, tmp_path):
    hub, log = logged_hub
    start = len(log.getvalue())
    done = _run("--target", hub.base_url, "--allow-writes", "--dry-run", "--rate-limit",
                "1000/s", "-k", "test_widgets", "--report-dir", str(tmp_path),
                env={"OPS_HUB_KEY": hub.key})
    assert "dry run:" in done.stdout and "writes not sent" in done.stdout
    assert "POST /api/v2/widgets" in done.stdout
    assert not [line for line in _lines(log, start) if line.startswith("POST")]


def test_a_request_budget_stops_the_run_with_one_line(logged_hub, tmp_path):
    hub, log = logged_hub
    start = len(log.getvalue())
    done = _run("--target", hub.base_url, "--max-requests", "3", "--rate-limit", "1000/s",
                "-k", "test_widgets", "--report-dir", str(tmp_path),
                env={"OPS_HUB_KEY": hub.key})
    assert done.returncode == 2
    assert "request budget exhausted: --max-requests 3" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert len(_lines(log, start)) <= 3 + PRE_SUITE  # run's probes plus the three allowed


def test_list_faults():
    done = _run("--list-faults")
    assert done.returncode == 0 and "bad_json_500: " in done.stdout
