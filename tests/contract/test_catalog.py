"""The requirement catalog: valid, traceable to the source, and covered by tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from ihub_conformance import InputError
from ihub_conformance.contract import coverage
from ihub_conformance.contract.catalog import (
    AREAS,
    MarkerScan,
    collect_requirement_markers,
    load_catalog,
    rewrite_verified_by,
    schema_path,
    sync_verified_by,
)
from ihub_conformance.contract.coverage import load_not_requirements

ROOT = Path(__file__).resolve().parents[2]
SHARED_SOURCE = ROOT.parent / "shared" / "seed" / "ops-hub-evidence-intake.md"
# The pinned copy the catalog quotes, so the quote checks run in any checkout.
SOURCE = ROOT / "contracts" / "source" / "ops-hub-evidence-intake.md"
CATALOG = ROOT / "contracts" / "v1" / "requirements.yaml"


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("v1")


@pytest.fixture(scope="module")
def source_sections() -> dict[str, str]:
    parts = re.split(r"^## ", SOURCE.read_text(encoding="utf-8"), flags=re.M)
    return {part.splitlines()[0].strip(): part for part in parts[1:]}


def test_pinned_source_is_the_shared_source_document():
    """contracts/source/ is a copy of ../shared/seed: a changed source needs a catalog review."""
    if not SHARED_SOURCE.is_file():
        pytest.skip(f"{SHARED_SOURCE} not beside this checkout; the pinned copy is used")
    assert SOURCE.read_bytes() == SHARED_SOURCE.read_bytes(), (
        "the source document changed: review contracts/v1/requirements.yaml, then copy it "
        "to contracts/source/"
    )


# ------------------------------------------------------------------ shape and schema


def test_catalog_schema_is_a_valid_2020_12_schema():
    Draft202012Validator.check_schema(json.loads(schema_path().read_text()))


def test_catalog_validates_against_its_schema(catalog):
    schema = json.loads(schema_path().read_text())
    data = yaml.safe_load(CATALOG.read_text())
    assert list(Draft202012Validator(schema).iter_errors(data)) == []
    assert catalog.contract == "v1" and len(catalog) == len(data["requirements"])


def test_ids_are_unique_well_formed_and_numbered_per_area(catalog):
    ids = catalog.ids()
    assert len(ids) == len(set(ids))
    for area, reqs in catalog.by_area().items():
        numbers = [int(req.id.split("-")[1]) for req in reqs]
        assert all(re.fullmatch(rf"{area}-\d\d", req.id) for req in reqs)
        assert numbers == list(range(1, len(reqs) + 1)), f"{area} ids not 01..{len(reqs):02d}"


def test_every_area_is_present(catalog):
    assert tuple(catalog.by_area()) == AREAS


def test_entry_count_is_in_the_expected_range(catalog):
    assert 40 <= len(catalog) <= 70


def test_queries(catalog):
    assert catalog.get("EVT-10").area == "EVT"
    with pytest.raises(KeyError, match="EVT-99"):
        catalog.get("EVT-99")
    assert catalog.must() and all(req.level == "MUST" for req in catalog.must())
    assert len(catalog.must()) < len(catalog)  # the "preferably"/"should" statements
    assert {req.id for req in catalog if req.level == "SHOULD"} >= {"SEC-02", "ACS-01"}


def test_assumption_references_exist(catalog):
    register = yaml.safe_load((ROOT / "contracts" / "v1" / "assumptions.yaml").read_text())
    known = {entry["id"] for entry in register["entries"]}
    for req in catalog:
        assert set(req.assumptions) <= known, req.id


# ------------------------------------------------------------ traceable to the source


def test_every_quote_is_in_its_source_section(catalog, source_sections):
    for req in catalog:
        assert req.section in source_sections, f"{req.id}: no heading {req.section!r}"
        assert _norm(req.quote) in _norm(source_sections[req.section]), req.id


def _quoted(catalog, not_requirements) -> list[tuple[str, str]]:
    return [(req.section, req.quote) for req in catalog] + \
        [(item.section, item.quote) for item in not_requirements]


@pytest.fixture(scope="module")
def not_requirements():
    return load_not_requirements("v1")


@pytest.fixture(scope="module")
def prose() -> dict[str, str]:
    return coverage.source_sections(SOURCE.read_text(encoding="utf-8"))


def test_every_sentence_of_the_source_is_a_requirement_or_a_reasoned_non_requirement(
        catalog, not_requirements, prose):
    """The whole source - prose, bullets, tables, gate list, code, open questions - is read."""
    assert set(prose) >= {"(preamble)", "Summary", "Production Gates", "Open Questions"}
    missing = coverage.uncovered(prose, _quoted(catalog, not_requirements))
    assert missing == [], "source statements with neither a catalog entry nor a reasoned " \
        f"entry in contracts/v1/not-requirements.yaml: {missing}"


def test_each_requirement_quote_is_needed_for_coverage(catalog, not_requirements, prose):
    """The check can fail: dropping any quote (all entries sharing it) leaves words unread."""
    quoted = _quoted(catalog, not_requirements)
    for section, quote in dict.fromkeys(quoted):
        if any(_norm(quote) in _norm(other) and quote != other for _, other in quoted):
            continue  # a second requirement read from part of one sentence (ACS-11 in ACS-10)
        rest = [pair for pair in quoted if pair != (section, quote)]
        assert coverage.uncovered(prose, rest), f"{quote!r} covers nothing another quote does not"


def test_uncovered_reports_the_statement_a_word_belongs_to():
    sections = {"S": "First rule is kept. Second rule must hold; - item one - item two"}
    found = coverage.uncovered(sections, [("S", "First rule is kept."), ("S", "- item one")])
    assert found == [("S", "Second rule must hold;"), ("S", "- item two")]
    # overlap is not coverage: a quote of part of a statement leaves the rest unread
    assert coverage.uncovered({"S": "Keep the key outside Git, always."},
                              [("S", "Keep the key")]) == [
        ("S", "Keep the key outside Git, always.")]


def test_non_requirement_quotes_are_in_their_sections_and_reasoned(not_requirements, prose):
    for item in not_requirements:
        assert item.section in prose, f"no heading {item.section!r}"
        assert coverage.normalise(item.quote) in prose[item.section], item.quote
        assert len(item.why.split()) >= 5, f"{item.quote!r}: give a reason"


def test_no_sentence_is_both_a_requirement_and_a_non_requirement(catalog, not_requirements):
    quotes = {_norm(req.quote) for req in catalog}
    assert not [item.quote for item in not_requirements if _norm(item.quote) in quotes]


def test_broken_not_requirements_name_file_and_field(tmp_path):
    bad = tmp_path / "not-requirements.yaml"
    bad.write_text("statements:\n  - {section: Summary, quote: x, reason: because, why: y}\n")
    with pytest.raises(InputError, match="/statements/0/reason"):
        load_not_requirements(path=bad)
    bad.write_text("statements:\n  - {section: Summary, quote: x}\n")
    with pytest.raises(InputError, match="/statements/0"):
        load_not_requirements(path=bad)


def test_each_of_the_six_gates_has_its_entry(catalog, source_sections):
    gates = re.findall(r"^(\d)\. (.+?)(?=^\d\. |\Z)", source_sections["Production Gates"],
                       flags=re.M | re.S)
    assert [number for number, _ in gates] == ["1", "2", "3", "4", "5", "6"]
    for number, text in gates:
        entry = catalog.get(f"GATE-0{number}")
        assert _norm(entry.quote) in _norm(text), entry.id
        assert entry.level == "MUST" and entry.kind == "config"


def test_the_past_observation_and_open_questions_are_not_requirements(catalog,
                                                                      not_requirements):
    quotes = " ".join(_norm(req.quote) for req in catalog)
    assert "an empty list" not in quotes
    assert "Open Questions" not in {req.section for req in catalog}
    assert sum(item.reason == "open-question" for item in not_requirements) == 4


def test_temporary_statements_are_marked_and_say_so(catalog):
    """'currently' / 'yet' describe a state the source expects to change."""
    for req in catalog:
        temporal = re.search(r"\b(currently|yet)\b", req.quote) and req.area != "FBK"
        if temporal:
            assert req.temporary and "urrently" in req.title, req.id


def test_levels_under_the_recommended_heading_are_explained(catalog):
    for req in catalog:
        if req.section == "Recommended Manifest Vocabulary" and req.level == "MUST":
            assert req.note, f"{req.id}: MUST under 'Recommended' needs a note saying why"


# ------------------------------------------------------------------------- loading


def test_broken_catalog_names_file_and_field(tmp_path):
    data = yaml.safe_load(CATALOG.read_text())
    data["requirements"][3]["level"] = "MAY"
    bad = tmp_path / "requirements.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as err:
        load_catalog(path=bad)
    assert str(bad) in str(err.value) and "/requirements/3/level" in str(err.value)


def test_duplicate_id_and_area_mismatch_are_rejected(tmp_path):
    data = yaml.safe_load(CATALOG.read_text())
    data["requirements"][1]["id"] = data["requirements"][0]["id"]
    bad = tmp_path / "dup.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="duplicate id"):
        load_catalog(path=bad)
    data = yaml.safe_load(CATALOG.read_text())
    data["requirements"][0]["area"] = "EVT"  # WID-01 filed under EVT
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="/requirements/0"):
        load_catalog(path=bad)


def test_unknown_version_and_unreadable_file(tmp_path):
    with pytest.raises(InputError, match="v9"):
        load_catalog("v9")
    with pytest.raises(InputError, match="cannot read"):
        load_catalog(path=tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("requirements: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_catalog(path=broken)


# ------------------------------------------------------------------ sync and --check


def test_rewrite_touches_only_verified_by(catalog):
    current = CATALOG.read_text()
    # the committed file is exactly what the rewrite produces from its own lists
    assert rewrite_verified_by(current, {r.id: r.verified_by for r in catalog}) == current
    text = rewrite_verified_by(current, {})  # every list emptied
    assert all(entry["verified_by"] == [] for entry in yaml.safe_load(text)["requirements"])
    new = rewrite_verified_by(text, {"WID-01": ["conformance/test_a.py::test_x"],
                                     "GATE-06": ["tests/test_gate_smoke.py::test_y"]})
    removed = [line for line in text.splitlines() if line not in new.splitlines()]
    added = [line for line in new.splitlines() if line not in text.splitlines()]
    assert removed == []  # `verified_by: []` is still there for the other entries
    assert sorted(added) == sorted([
        "    verified_by:", "      - 'conformance/test_a.py::test_x'",
        "    verified_by:", "      - 'tests/test_gate_smoke.py::test_y'"])
    assert len(new.splitlines()) == len(text.splitlines()) + 2
    data = yaml.safe_load(new)
    by_id = {entry["id"]: entry["verified_by"] for entry in data["requirements"]}
    assert by_id["WID-01"] == ["conformance/test_a.py::test_x"]
    assert by_id["GATE-06"] == ["tests/test_gate_smoke.py::test_y"]
    assert sum(1 for tests in by_id.values() if tests) == 2
    # and back again: the original text, byte for byte (comments included)
    assert rewrite_verified_by(new, {}) == text


def _fake_suite(root: Path, marker_ids: str) -> None:
    (root / "conformance").mkdir(parents=True)
    (root / "conformance" / "test_fake.py").write_text(
        "import pytest\n\n"
        f"@pytest.mark.requirement({marker_ids})\n"
        "@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_marked(n):\n    assert n\n\n"
        "def test_unmarked():\n    assert True\n")


def _sync_cli(root: Path, catalog: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", "catalog", "sync", "--root", str(root),
         "--catalog", str(catalog), *extra],
        capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_sync_check_then_sync_then_check(tmp_path):
    _fake_suite(tmp_path, '"EVT-09", "EVT-10"')
    catalog = tmp_path / "requirements.yaml"
    catalog.write_text(CATALOG.read_text())
    stale = _sync_cli(tmp_path, catalog, "--check")
    assert stale.returncode == 1 and "EVT-09, EVT-10" in stale.stderr
    assert catalog.read_text() == CATALOG.read_text()  # --check writes nothing
    assert _sync_cli(tmp_path, catalog).returncode == 0
    synced = load_catalog(path=catalog)
    assert synced.get("EVT-09").verified_by == ("conformance/test_fake.py::test_marked",)
    assert synced.get("EVT-11").verified_by == ()
    fresh = _sync_cli(tmp_path, catalog, "--check")
    assert fresh.returncode == 0 and "up to date" in fresh.stdout


def test_sync_reports_unknown_ids_and_tolerates_an_empty_suite(tmp_path):
    _fake_suite(tmp_path / "typo", '"EVT-99"')
    catalog = tmp_path / "requirements.yaml"
    catalog.write_text(CATALOG.read_text())
    result = _sync_cli(tmp_path / "typo", catalog)
    assert result.returncode == 1 and "unknown requirement EVT-99" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    summary = sync_verified_by(empty, catalog, check=True)
    assert summary["tests"] == 0 and summary["unknown"] == {}


def test_sync_collection_error_is_one_line(tmp_path):
    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "test_broken.py").write_text("import nonexistent_module_x\n")
    catalog = tmp_path / "requirements.yaml"
    catalog.write_text(CATALOG.read_text())
    result = _sync_cli(tmp_path, catalog, "--check")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "test_broken.py" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ----------------------------------------------------- coverage of the real test suite


@pytest.fixture(scope="module")
def scan() -> MarkerScan:
    return collect_requirement_markers(ROOT)


def test_every_marker_names_a_catalog_requirement(catalog, scan):
    unknown = {rid: tests for rid, tests in scan.by_requirement.items()
               if rid not in catalog.ids()}
    assert unknown == {}, f"markers name ids that are not in the catalog: {unknown}"


def test_verified_by_is_in_sync_with_the_markers(catalog, scan):
    stale = [req.id for req in catalog
             if list(req.verified_by) != sorted(scan.by_requirement.get(req.id, ()))]
    assert stale == [], f"verified_by out of date for {stale}: run " \
        "`ihub-conformance catalog sync` and commit contracts/v1/requirements.yaml"


def test_every_must_behaviour_has_a_conformance_test(catalog, scan):
    if not scan.tests_under("conformance/"):
        pytest.skip("conformance/ has no tests yet (helper SUITE): nothing to check")
    unverified = [req.id for req in catalog.must() if req.kind == "behaviour"
                  and not any(t.startswith("conformance/")
                              for t in scan.by_requirement.get(req.id, ()))]
    assert unverified == [], f"MUST behaviour requirements with no conformance test: {unverified}"


def test_every_must_config_requirement_has_a_gate_test(catalog, scan):
    if not scan.tests_under("tests/gate/"):
        pytest.skip("no tests/gate/ tests yet (helper GATE): nothing to check")
    unverified = [req.id for req in catalog.must() if req.kind == "config"
                  and not any(t.startswith("tests/gate/")
                              for t in scan.by_requirement.get(req.id, ()))]
    assert unverified == [], f"MUST config requirements with no tests/gate/ test: {unverified}"


def test_every_requirement_has_a_verifying_test(catalog, scan):
    if not scan.tests_under("conformance/"):
        pytest.skip("conformance/ has no tests yet (helper SUITE): nothing to check")
    unverified = [req.id for req in catalog if not scan.by_requirement.get(req.id)]
    assert unverified == [], f"requirements no test verifies (add a marker): {unverified}"
