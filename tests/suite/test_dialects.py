"""The example dialects end to end: the reference hub speaks each, the suite passes it, the
gate says go, and fault variants that break a source statement are still killed in it.

A dialect is an override file under contracts/v1/dialects/. CI runs a representative pair
of faults per dialect; `nox -s mutants -- --assumptions FILE` runs them all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate_helpers import EXTERNAL, MAPPING, RUNTIME, SECRETS, canary_key, clean_repo, run_gate_cli
from ihub_conformance._paths import contracts_dir
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.reference.faults import FAULTS, applies_in
from ihub_conformance.suite.mutants import FAITHFUL, KILLED, PASSED, run_all

DIALECTS = sorted((contracts_dir() / "v1" / "dialects").glob("*.yaml"))
# Per dialect: faults on the code paths the dialect changes (pages, refusals, auth).
REPRESENTATIVE = {
    "token-results": ["pagination_drops_last", "accept_undeclared_event_type"],
    "apikey-array": ["pagination_overlap", "accept_wrong_key"],
    "keyless-standins": ["counts_as_strings", "default_scope_public"],
}


def test_there_are_at_least_three_documented_dialects() -> None:
    assert len(DIALECTS) >= 3
    for path in DIALECTS:
        assert path.read_text(encoding="utf-8").startswith("# Example dialect"), path
        load_assumptions(override=path)  # valid, and overrides nothing the source fixes
    assert set(REPRESENTATIVE) == {path.stem for path in DIALECTS}


def test_the_dialects_differ_in_every_kind_the_register_can_express() -> None:
    registers = [load_assumptions(override=path) for path in DIALECTS]
    seen = {
        "auth": {(r.get("auth.header"), r.get("auth.scheme")) for r in registers},
        "shape": {r.get("pagination.shape") for r in registers},
        "first page": {r.get("pagination.first_page") for r in registers},
        "errors": {r.get("errors.shape") for r in registers},
        "create": {str(r.get("status.create_widget")) for r in registers},
        "missing reads": {r.serves("consumer") for r in registers},
    }
    for kind, values in seen.items():
        assert len(values) >= 2, f"every example dialect has the same {kind}: {values}"


@pytest.mark.slow
@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda path: path.stem)
def test_a_dialect_passes_and_its_faults_are_killed(dialect: Path) -> None:
    faults = REPRESENTATIVE[dialect.stem]
    register = load_assumptions(override=dialect)
    assert all(name in FAULTS and applies_in(name, register) for name in faults)
    rows = run_all(faults, jobs=3, examples=2, hand_written_only=False, timeout=300,
                   progress=False, assumptions=str(dialect))
    by_name = {row.name: row for row in rows}
    faithful = by_name[FAITHFUL]
    assert faithful.result == PASSED, f"{dialect.stem}: {faithful.error or faithful.failed_tests}"
    for name in faults:
        row = by_name[name]
        assert row.result == KILLED, f"{dialect.stem}/{name}: {row.result} {row.error}"


@pytest.mark.slow
@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda path: path.stem)
def test_the_gate_says_go_in_a_dialect(dialect: Path, tmp_path: Path, capsys,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_HUB_KEY", canary_key())
    repo = clean_repo(tmp_path / "activity-core")
    run = run_gate_cli(capsys, tmp_path / "reports", "--target", "reference",
                       "--assumptions", str(dialect), "--mapping", str(MAPPING),
                       "--runtime-manifest", str(RUNTIME), "--runtime-manifest", str(SECRETS),
                       "--runtime-manifest", str(EXTERNAL), "--scan-repo", str(repo))
    assert run.code == 0, run.out


def test_a_fault_that_breaks_nothing_in_a_dialect_is_not_applicable() -> None:
    apikey = load_assumptions(override=contracts_dir() / "v1" / "dialects" / "apikey-array.yaml")
    token = load_assumptions(override=contracts_dir() / "v1" / "dialects" / "token-results.yaml")
    assert not applies_in("created_200", apikey)  # 200 is that dialect's success status
    assert not applies_in("no_rate_limit_headers", token)  # it names none
    assert applies_in("created_200", load_assumptions())


@pytest.mark.slow
def test_calibrate_then_run_passes_against_a_hub_in_another_dialect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The issue's hub (X-Api-Key, 0-based per_page, bare array + X-Total-Count, 200 on
    create, string errors, RateLimit-*, public registries, no OpenAPI): calibrate writes the
    override file, and run with it passes with nothing failed and nothing mismatched."""
    from ihub_conformance.cli import main
    from ihub_conformance.reference.server import running_reference_hub

    key, unbound = canary_key(), canary_key() + "-unbound"
    monkeypatch.setenv("OPS_HUB_KEY", key)
    monkeypatch.setenv("IHUB_UNBOUND_KEY", unbound)
    dialect = load_assumptions(override=contracts_dir() / "v1" / "dialects" / "apikey-array.yaml")
    out = tmp_path / "site.yaml"
    with running_reference_hub(key=key, unbound_key=unbound, assumptions=dialect) as hub:
        assert main(["calibrate", "--target", hub.base_url, "--allow-writes",
                     "--out", str(out)]) in (0, 1)  # 1: the default page size stays unseen
        assert key not in out.read_text(encoding="utf-8")
        # a loopback test double: no need for the live default of 5 requests a second
        code = main(["run", "--target", hub.base_url, "--allow-writes", "--assumptions",
                     str(out), "--report-dir", str(tmp_path / "reports"),
                     "--rate-limit", "1000/s", "--examples", "2"])
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert code == 0 and report["verdict"] == "pass", capsys.readouterr().out[-2000:]
