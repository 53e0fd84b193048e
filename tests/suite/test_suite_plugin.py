"""The suite's machinery: requirement markers, the verdict, read-only runs, network blocking."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ihub_conformance.contract.catalog import load_catalog
from ihub_conformance.hub import network
from ihub_conformance.reference.server import running_reference_hub
from ihub_conformance.suite.report import build_verdict, render_markdown, schema_violations

ROOT = Path(__file__).resolve().parents[2]


def _pytest(args: list[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_unknown_requirement_id_is_a_collection_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.requirement('EVT-99')\ndef test_a():\n    pass\n")
    proc = _pytest([str(tmp_path / "test_x.py")], tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "unknown requirement id" in proc.stderr and "EVT-99" in proc.stderr


def test_requirement_becomes_junit_property_and_allure_labels(tmp_path: Path) -> None:
    (tmp_path / "test_y.py").write_text(
        "import pytest\n\n@pytest.mark.requirement('EVT-11', 'ACS-01')\n"
        "def test_a():\n    pass\n")
    junit, allure = tmp_path / "junit.xml", tmp_path / "allure"
    proc = _pytest([str(tmp_path / "test_y.py"), f"--junitxml={junit}",
                    f"--alluredir={allure}"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    xml = junit.read_text()
    assert '<property name="requirement" value="EVT-11"' in xml
    assert '<property name="requirement" value="ACS-01"' in xml
    result = json.loads(next(allure.glob("*-result.json")).read_text())
    labels = {(label["name"], label["value"]) for label in result["labels"]}
    assert ("epic", "EVT") in labels and ("epic", "ACS") in labels
    assert ("severity", "critical") in labels
    assert any(name == "story" and value.startswith("EVT-11") for name, value in labels)
    assert "`occurredAt` is server-set." in result["description"]


def test_conformance_tests_all_carry_known_requirement_ids() -> None:
    proc = _pytest(["conformance", "--collect-only", "-q"], ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "tests collected" in proc.stdout


def _results(outcomes: dict[str, str], extra: dict[str, list[str]] | None = None) -> dict:
    catalog = load_catalog("v1")
    tests = []
    for req in catalog:
        if req.kind == "behaviour":
            tests.append({"nodeid": f"conformance/test_x.py::test_{req.id}",
                          "outcome": outcomes.get(req.id, "passed"), "requirements": [req.id],
                          "message": "boom" if outcomes.get(req.id) == "failed" else "",
                          "duration": 0.1})
    return {"contract": "v1", "mode": "reference", "url": "http://127.0.0.1:1", "run_id": "r1",
            "allow_writes": True, "faults": [], "started": 1_800_000_000.0,
            "finished": 1_800_000_010.0, "requests": 3, "tests": tests, "written": []}


def test_verdict_passes_only_when_every_behaviour_must_passed() -> None:
    catalog = load_catalog("v1")
    ok = build_verdict(_results({}), catalog)
    assert ok.passed and ok.document["exitCode"] == 0
    assert schema_violations(ok.document) == []
    statuses = {r["id"]: r["status"] for r in ok.document["requirements"]}
    assert statuses["EVT-11"] == "passed" and statuses["GATE-04"] == "not_tested"

    broken = build_verdict(_results({"EVT-11": "failed"}), catalog)
    assert not broken.passed and broken.broken == ["EVT-11"]
    assert schema_violations(broken.document) == []
    assert "## Broken requirements" in render_markdown(broken.document)
    assert "boom" in render_markdown(broken.document)

    skipped = build_verdict(_results({"EVT-10": "skipped"}), catalog)
    assert not skipped.passed and skipped.unproven == ["EVT-10"] and skipped.broken == []
    should_skipped = build_verdict(_results({"ACS-01": "skipped"}), catalog)
    assert should_skipped.passed, "a skipped SHOULD does not fail the verdict"


def test_report_schema_refuses_a_pass_with_broken_requirements() -> None:
    doc = build_verdict(_results({"EVT-11": "failed"}), load_catalog("v1")).document
    doc["verdict"], doc["exitCode"] = "pass", 0
    assert schema_violations(doc)


def test_network_block_refuses_internet_sockets() -> None:
    with network.blocked():
        with pytest.raises(network.NetworkBlocked), socket.socket() as sock:
            sock.connect(("127.0.0.1", 9))
        with pytest.raises(network.NetworkBlocked):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert not network.is_blocked()


def test_live_target_is_read_only_unless_writes_are_allowed(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    with running_reference_hub() as hub:
        env = {"IHUB_TEST_KEY": hub.key, "IHUB_UNBOUND_KEY": hub.unbound_key}
        proc = _pytest(["conformance", "--ihub-target", hub.base_url, "--ihub-key-env",
                        "IHUB_TEST_KEY", "--ihub-results", str(results),
                        "-k", "test_auth or test_registries or test_widgets"], ROOT, env)
        widgets_after = [w for w in hub.client().get("/api/v2/widgets?pageSize=200").json()
                         ["data"] if w["name"].startswith("ihub-conformance")]
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = json.loads(results.read_text())
    assert doc["mode"] == "live" and doc["written"] == [] and not widgets_after
    skipped = [t for t in doc["tests"] if t["outcome"] == "skipped"]
    assert skipped and all("writes not allowed" in t["message"] for t in skipped)
    assert any(t["outcome"] == "passed" for t in doc["tests"])
    assert hub.key not in proc.stdout + proc.stderr + results.read_text()


def test_only_keeps_the_tests_of_the_given_ids(tmp_path: Path) -> None:
    (tmp_path / "test_z.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.requirement('EVT-10')\ndef test_evt():\n    pass\n\n"
        "@pytest.mark.requirement('WID-04')\ndef test_wid():\n    pass\n\n"
        "@pytest.mark.assumption('ASM-01')\ndef test_asm():\n    pass\n\n"
        "def test_unmarked():\n    pass\n")
    proc = _pytest([str(tmp_path / "test_z.py"), "-v", "--ihub-only", "EVT-10",
                    "--ihub-only", "ASM-01"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test_evt PASSED" in proc.stdout and "test_asm PASSED" in proc.stdout
    assert "test_wid" not in proc.stdout and "test_unmarked" not in proc.stdout
    assert "2 deselected" in proc.stdout
    unknown = _pytest([str(tmp_path / "test_z.py"), "--ihub-only", "EVT-99"], tmp_path)
    assert unknown.returncode == 4 and "EVT-99" in unknown.stderr
