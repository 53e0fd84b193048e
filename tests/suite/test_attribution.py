"""Attribution: assumption mismatches and unverifiable requirements reach the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ihub_conformance.suite.attribution import (
    AssumptionMismatch,
    Unverifiable,
    expect_assumption,
    unverifiable,
)

SAMPLE = '''
import pytest
from ihub_conformance.suite.attribution import expect_assumption, unverifiable

@pytest.fixture
def no_versions():
    unverifiable("the hub serves no widget versions endpoint")

@pytest.mark.requirement("WID-05")
@pytest.mark.assumption("ASM-06")
def test_guess():
    expect_assumption("ASM-06", 200 == 201, expected=201, observed=200, detail="create status")

@pytest.mark.requirement("EVT-11")
def test_source():
    assert 1 == 2, "occurredAt was honoured"

@pytest.mark.requirement("WID-06")
def test_versions(no_versions):
    pass

@pytest.mark.requirement("EVT-01")
@pytest.mark.assumption("ASM-02", "ASM-03")
def test_ok():
    expect_assumption("ASM-02", True, expected=1, observed=1)
'''


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "no:randomly", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120, check=False)


def test_expect_assumption_raises_only_when_the_hub_differs() -> None:
    expect_assumption("ASM-06", True, expected=201, observed=201)
    with pytest.raises(AssumptionMismatch) as caught:
        expect_assumption("ASM-06", False, expected=201, observed=200, detail="POST widgets")
    assert caught.value.asm_id == "ASM-06"
    assert "expected 201, observed 200" in str(caught.value)
    assert "calibrate" in str(caught.value)
    assert isinstance(caught.value, AssertionError)


def test_unverifiable_ends_a_test_like_a_skip() -> None:
    with pytest.raises(Unverifiable) as caught:
        unverifiable("no second key")
    assert caught.value.reason == "no second key"
    assert isinstance(caught.value, pytest.skip.Exception)


def test_outcomes_carry_mismatch_unverifiable_and_assumptions(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    results, junit = tmp_path / "results.json", tmp_path / "junit.xml"
    allure = tmp_path / "allure"
    proc = _pytest(["test_sample.py", "--ihub-results", str(results),
                    f"--junitxml={junit}", f"--alluredir={allure}"], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    tests = {t["nodeid"].rsplit("::", 1)[1]: t for t in json.loads(results.read_text())["tests"]}
    assert tests["test_guess"]["outcome"] == "mismatch"
    assert tests["test_guess"]["mismatches"] == [
        {"assumption": "ASM-06", "expected": "201", "observed": "200",
         "detail": "create status"}]
    assert tests["test_guess"]["assumptions"] == ["ASM-06"]
    assert tests["test_source"]["outcome"] == "failed"
    assert tests["test_versions"]["outcome"] == "unverifiable"
    assert "no widget versions endpoint" in tests["test_versions"]["message"]
    assert tests["test_ok"]["outcome"] == "passed"
    assert tests["test_ok"]["assumptions"] == ["ASM-02", "ASM-03"]
    xml = junit.read_text()
    assert '<property name="assumption_mismatch" value="ASM-06"' in xml
    assert '<property name="assumption" value="ASM-03"' in xml
    assert 'name="unverifiable"' in xml
    categories = json.loads((allure / "categories.json").read_text())
    assert categories[0]["name"].startswith("Assumption mismatches")
    tags = {(lbl["name"], lbl["value"]) for f in allure.glob("*-result.json")
            for lbl in json.loads(f.read_text())["labels"]}
    assert ("tag", "ASM-06") in tags


def test_unknown_assumption_id_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.assumption('ASM-99')\ndef test_a():\n    pass\n")
    proc = _pytest(["test_x.py"], tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "unknown assumption id" in proc.stderr and "ASM-99" in proc.stderr


def _verdict_results(outcome_by_req: dict[str, dict]) -> dict:
    from ihub_conformance.contract.catalog import load_catalog

    tests = []
    for req in load_catalog("v1"):
        if req.kind == "behaviour":
            extra = outcome_by_req.get(req.id, {})
            tests.append({"nodeid": f"conformance/test_x.py::test_{req.id}",
                          "outcome": extra.get("outcome", "passed"), "requirements": [req.id],
                          "assumptions": extra.get("assumptions", []),
                          "message": extra.get("message", ""),
                          "mismatches": extra.get("mismatches", []), "duration": 0.1})
    return {"contract": "v1", "mode": "live", "url": "http://127.0.0.1:1", "run_id": "r1",
            "allow_writes": True, "faults": [], "started": 1_800_000_000.0,
            "finished": 1_800_000_010.0, "requests": 3, "tests": tests, "written": []}


MISMATCH = {"outcome": "mismatch", "assumptions": ["ASM-06"],
            "message": "assumption mismatch ASM-06 ...",
            "mismatches": [{"assumption": "ASM-06", "expected": "201", "observed": "200",
                            "detail": "POST /api/v2/widgets"}]}


def test_a_mismatch_is_not_a_broken_requirement_and_not_a_pass() -> None:
    from ihub_conformance.contract.catalog import load_catalog
    from ihub_conformance.suite.report import build_verdict, render_markdown, schema_violations

    verdict = build_verdict(_verdict_results({"WID-01": MISMATCH}), load_catalog("v1"))
    doc = verdict.document
    assert schema_violations(doc) == []
    assert doc["verdict"] == "assumption_mismatch" and doc["exitCode"] == 1
    assert not verdict.passed and verdict.broken == []
    statuses = {r["id"]: r["status"] for r in doc["requirements"]}
    assert statuses["WID-01"] == "assumption_mismatch"
    assert doc["assumptionMismatches"][0]["assumption"] == "ASM-06"
    assert doc["assumptionMismatches"][0]["requirements"] == ["WID-01"]
    text = render_markdown(doc)
    assert "## Assumption mismatches" in text and "calibrate" in text
    assert "## Broken requirements" not in text


def test_a_broken_source_statement_outranks_a_mismatch() -> None:
    from ihub_conformance.contract.catalog import load_catalog
    from ihub_conformance.suite.report import build_verdict, schema_violations

    failed = {"outcome": "failed", "message": "occurredAt honoured"}
    verdict = build_verdict(_verdict_results({"WID-01": MISMATCH, "EVT-11": failed}),
                            load_catalog("v1"))
    assert verdict.document["verdict"] == "fail" and verdict.broken == ["EVT-11"]
    assert verdict.mismatches and schema_violations(verdict.document) == []


def test_unverifiable_requirement_is_listed_with_its_reason() -> None:
    from ihub_conformance.contract.catalog import load_catalog
    from ihub_conformance.suite.report import build_verdict, render_markdown, schema_violations

    gone = {"outcome": "unverifiable", "message": "unverifiable: no versions endpoint"}
    verdict = build_verdict(_verdict_results({"WID-06": gone}), load_catalog("v1"))
    doc = verdict.document
    assert schema_violations(doc) == []
    assert verdict.unverifiable == ["WID-06"] and verdict.passed
    req = next(r for r in doc["requirements"] if r["id"] == "WID-06")
    assert req["unverifiableReasons"] == ["no versions endpoint"]
    assert "no versions endpoint" in render_markdown(doc)


def test_report_schema_refuses_a_pass_with_mismatches() -> None:
    from ihub_conformance.contract.catalog import load_catalog
    from ihub_conformance.suite.report import build_verdict, schema_violations

    doc = build_verdict(_verdict_results({"WID-01": MISMATCH}), load_catalog("v1")).document
    doc["verdict"], doc["exitCode"] = "pass", 0
    assert schema_violations(doc)


def _answer(status: int, path: str, headers: dict | None = None) -> httpx.Response:
    request = httpx.Request("GET", f"http://hub.test{path}", headers=headers or {})
    return httpx.Response(status, request=request, json={})


@pytest.mark.parametrize("status, expected, path, headers, asm", [
    (200, 201, "/api/v2/widgets", {"Authorization": "Bearer k"}, "ASM-06"),
    (400, 422, "/api/v2/interaction-events", {"Authorization": "Bearer k"}, "ASM-05"),
    (401, 200, "/api/v2/widgets", {"Authorization": "Bearer k"}, "ASM-01"),
    (401, 200, "/api/v2/event-types", {}, "ASM-09"),
    (404, 200, "/api/v2/widgets/abc/versions", {"Authorization": "Bearer k"}, "ASM-08"),
    (404, 200, "/api/v2/consumer", {"Authorization": "Bearer k"}, "ASM-10"),
])
def test_answers_that_differ_only_from_a_guess_are_mismatches(
        status: int, expected: int, path: str, headers: dict, asm: str) -> None:
    from ihub_conformance.contract.assumptions import load_assumptions
    from ihub_conformance.suite.attribution import status_mismatch

    found = status_mismatch(load_assumptions("v1"), _answer(status, path, headers), expected)
    assert found is not None and found.asm_id == asm


@pytest.mark.parametrize("status, expected, path", [
    (201, 400, "/api/v2/interaction-events"),  # accepted what the source says to reject
    (404, 200, "/api/v2/widgets"),  # the source names this path
    (500, 201, "/api/v2/widgets"),
    (400, 201, "/api/v2/widgets"),  # a valid create refused
])
def test_answers_that_break_the_source_are_not_mismatches(
        status: int, expected: int, path: str) -> None:
    from ihub_conformance.contract.assumptions import load_assumptions
    from ihub_conformance.suite.attribution import status_mismatch

    answer = _answer(status, path, {"Authorization": "Bearer k"})
    assert status_mismatch(load_assumptions("v1"), answer, expected) is None


def _run_with_faults(*faults: str, select: str, out: Path) -> tuple[dict, str]:
    """`run` against the reference hub with these faults on the tests ``select`` picks: it
    must not pass (exit 1); its conformance.json and stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", "run",
         *(arg for fault in faults for arg in ("--fault", fault)),
         "--report-dir", str(out), "-k", select],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    return json.loads((out / "conformance.json").read_text()), proc.stdout


def test_a_hub_answering_200_on_create_gets_mismatches_not_broken_requirements(
        tmp_path: Path) -> None:
    """The reference hub with its created_200 fault honours every source statement but
    answers create with another 2xx than the register's guess (ASM-06)."""
    doc, stdout = _run_with_faults("created_200", select="test_widgets or test_registered_names",
                                   out=tmp_path)
    assert doc["brokenRequirements"] == [] and doc["counts"]["failed"] == 0
    assert {m["assumption"] for m in doc["assumptionMismatches"]} == {"ASM-06"}
    assert doc["verdict"] == "assumption_mismatch" and doc["calibrate"]
    assert "ASSUMPTION MISMATCH" in stdout and "calibrate" in stdout
    report = (tmp_path / "report.md").read_text()
    assert "## Assumption mismatches" in report and "## Broken requirements" not in report


def test_hubs_differing_from_a_guess_only_get_mismatches_not_broken_requirements(
        tmp_path: Path) -> None:
    """A first WidgetVersion whose snapshot spells fields in snake_case, and a State Hub
    answering any limit, honour the source (a snapshot is made; limit=20 is answered):
    only ASM-08 and ASM-15 are contradicted."""
    doc, _ = _run_with_faults("snake_case_snapshot", "progress_any_limit",
                              select="initial_version or out_of_range_limit", out=tmp_path)
    assert doc["brokenRequirements"] == [] and doc["counts"]["failed"] == 0
    assert {m["assumption"] for m in doc["assumptionMismatches"]} == {"ASM-08", "ASM-15"}
    assert doc["counts"]["mismatch"] == 4  # one version test, three limits


def test_a_resource_shape_differing_from_the_guess_is_a_mismatch_unless_a_source_rule_breaks(
        tmp_path: Path) -> None:
    """Widget answers without updatedAt differ only from ASM-06's guessed shape: every test
    that reads a widget ends in an ASM-06 mismatch, none in a broken requirement. With
    WID-04's optional fields dropped as well, the source statement's failure outranks the
    deferred shape mismatch."""
    doc, _ = _run_with_faults("widget_without_updated_at", select="test_widgets",
                              out=tmp_path / "shape")
    assert doc["brokenRequirements"] == [] and doc["counts"]["failed"] == 0
    assert {m["assumption"] for m in doc["assumptionMismatches"]} == {"ASM-06"}
    assert doc["counts"]["mismatch"] >= 3
    generated, _ = _run_with_faults("widget_without_updated_at",  # Schemathesis's check too
                                    select="test_operation_conforms", out=tmp_path / "st")
    assert generated["brokenRequirements"] == [] and generated["counts"]["failed"] == 0
    assert {m["assumption"] for m in generated["assumptionMismatches"]} == {"ASM-06"}
    both, _ = _run_with_faults("widget_without_updated_at", "drop_optional_widget_fields",
                               select="test_optional_fields_are_stored", out=tmp_path / "both")
    assert both["brokenRequirements"] == ["WID-04"], both["brokenRequirements"]


@pytest.mark.parametrize(("spec", "outcome"), [
    ("00000000-0000-4000-8000-000000000031", "passed"),  # the seed's adapter spec
    ("00000000-0000-4000-8000-0000000000ff", "mismatch"),  # no such adapter spec
])
def test_an_adapter_spec_the_hub_refuses_is_the_registers_mismatch(
        tmp_path: Path, spec: str, outcome: str) -> None:
    """WID-04 sends only the register's adapter spec (ASM-20); a hub refusing it, naming the
    field where the register's error dialect names fields, contradicts that guess."""
    override, results = tmp_path / "asm.json", tmp_path / "results.json"
    override.write_text(json.dumps({"widgets": {"adapter_spec_id": spec}}))
    root = Path(__file__).resolve().parents[2]
    proc = _pytest([str(root / "conformance" / "test_widgets.py"), "-k", "adapter_spec",
                    f"--rootdir={root}", "--ihub-assumptions", str(override),
                    "--ihub-results", str(results)], tmp_path)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr
    [test] = json.loads(results.read_text())["tests"]
    assert test["outcome"] == outcome, test["message"]
    if outcome == "mismatch":
        assert [m["assumption"] for m in test["mismatches"]] == ["ASM-20"]
