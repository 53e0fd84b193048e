"""contract.evolution: each kind of contract edit lands in its class, and the proofs hold.

Every edit is made on a temporary copy of contracts/v1; the comparison must find it,
classify it, and for a consumer-breaking edit name a document that the engine really
accepts under the old copy and refuses under the new one. Compatible edits are checked
against the repository's whole valid corpus.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ihub_conformance._paths import contracts_dir, corpus_dir
from ihub_conformance.contract import changelog as log
from ihub_conformance.contract.evolution import (
    COMPATIBLE,
    CONSUMER,
    DOCUMENTATION,
    PROVIDER,
    Change,
    compare_contracts,
    is_breaking,
    open_tree,
)
from ihub_conformance.contract.loader import load_contract_dir
from ihub_conformance.validation.engine import ContractValidator
from ihub_conformance.validation.witness import CONSUMER_KINDS, find_witness

V1 = contracts_dir() / "v1"


def _json(path: Path, edit: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text("utf-8"))
    edit(data)
    path.write_text(json.dumps(data, indent=2), "utf-8")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _yaml(path: Path, edit: Callable[[Any], None]) -> None:
    data = yaml.load(path.read_text("utf-8"), Loader=_LOADER)  # noqa: S506 - safe loader
    edit(data)
    path.write_text(yaml.dump(data, Dumper=_DUMPER, sort_keys=False), "utf-8")


def _defs(directory: Path, file: str, edit: Callable[[dict[str, Any]], None]) -> None:
    _json(directory / file, lambda schema: edit(schema["$defs"]))


def _vocabulary(directory: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    _json(directory / "vocabulary" / "ops-hub.json", edit)


def _requirement(directory: Path, rid: str, **fields: Any) -> None:
    def edit(catalog: dict[str, Any]) -> None:
        (entry,) = [r for r in catalog["requirements"] if r["id"] == rid]
        entry.update(fields)
    _yaml(directory / "requirements.yaml", edit)


# -- the edits ------------------------------------------------------------------------


def rename_event_type_with_alias(d: Path) -> None:
    def enum(defs):
        for name in ("EventType", "EvidenceType"):
            values = defs[name]["enum"]
            values[values.index("ops-drift-detected")] = "ops-drift-found"
    _defs(d, "common.schema.json", enum)

    def vocabulary(v):
        v["eventTypes"][v["eventTypes"].index("ops-drift-detected")] = "ops-drift-found"
        v["aliases"]["ops-drift-detected"] = "ops-drift-found"
    _vocabulary(d, vocabulary)


def rename_widget_type_without_alias(d: Path) -> None:
    def enum(defs):
        values = defs["WidgetType"]["enum"]
        values[values.index("ops-risk")] = "ops-hazard"
    _defs(d, "common.schema.json", enum)


def new_required_attribute(d: Path) -> None:
    def edit(defs):
        defs["Attributes"].setdefault("required", []).append("source_system")
        defs["Attributes"]["properties"]["source_system"] = {"type": "string"}
    _defs(d, "interaction-event.schema.json", edit)


def narrowed_policy_scopes(d: Path) -> None:
    _defs(d, "common.schema.json", lambda defs: defs["PolicyScope"]["enum"].remove(
        "ops-production"))


def narrowed_slug_pattern(d: Path) -> None:
    _defs(d, "common.schema.json", lambda defs: defs["Slug"].update(pattern="^[a-z]"))


def lower_context_key_limit(d: Path) -> None:
    _defs(d, "interaction-event.schema.json", lambda defs: defs["ActivityCoreMetadata"][
        "properties"]["context_key"].update(maxLength=8))


def widened_widget_types(d: Path) -> None:
    _defs(d, "common.schema.json", lambda defs: defs["WidgetType"]["enum"].append("ops-queue"))


def widened_run_id_pattern(d: Path) -> None:
    # Any non-empty run id: the portable form's `not` (no whitespace) goes.
    _defs(d, "interaction-event.schema.json", lambda defs: defs["ActivityCoreMetadata"][
        "properties"]["activity_core_run_id"].pop("not"))


def widened_slug_pattern(d: Path) -> None:
    # Slug is also the `slug` of a Hub the hub answers: clients may now read what they cannot.
    _defs(d, "common.schema.json", lambda defs: defs["Slug"]["not"].update(
        pattern="[^a-z0-9_-]"))


def new_optional_metadata_field(d: Path) -> None:
    _defs(d, "interaction-event.schema.json", lambda defs: defs["ActivityCoreMetadata"][
        "properties"].update(trace_ref={"type": "string", "maxLength": 64}))


def raised_level(d: Path) -> None:
    catalog = yaml.load((d / "requirements.yaml").read_text("utf-8"), Loader=_LOADER)  # noqa: S506
    should = next(r["id"] for r in catalog["requirements"]
                  if r["level"] == "SHOULD" and r["area"] != "ACS")
    _requirement(d, should, level="MUST")


def lowered_level(d: Path) -> None:
    catalog = yaml.load((d / "requirements.yaml").read_text("utf-8"), Loader=_LOADER)  # noqa: S506
    must = next(r["id"] for r in catalog["requirements"] if r["level"] == "MUST")
    _requirement(d, must, level="SHOULD")


def description_only(d: Path) -> None:
    _defs(d, "common.schema.json", lambda defs: defs["EventType"].update(
        description="Reworded.", title="event type (reworded)"))
    _requirement(d, "WID-01", title="Reworded title of a requirement")

    def openapi(doc):
        doc["paths"]["/api/v2/widgets"]["get"]["summary"] = "Reworded summary."
        doc["info"]["description"] = "Reworded."
    _yaml(d / "openapi.yaml", openapi)


def reworded_catalog_and_register(d: Path) -> None:
    def catalog(doc):
        doc["source"]["updated"] = "2026-07-01"
        doc["requirements"][0]["source"]["section"] = "Inter-Hub API Surface (reworded)"
    _yaml(d / "requirements.yaml", catalog)
    _yaml(d / "assumptions.yaml", lambda doc: doc["entries"][0].update(
        choice="The key travels in a header (reworded)."))


def narrowed_event_resource(d: Path) -> None:
    _defs(d, "interaction-event.schema.json", lambda defs: defs["InteractionEvent"][
        "required"].append("updatedAt"))


def new_required_query_parameter(d: Path) -> None:
    def edit(doc):
        doc["paths"]["/api/v2/widgets"]["get"]["parameters"].append(
            {"name": "hub", "in": "query", "required": True, "schema": {"type": "string"}})
    _yaml(d / "openapi.yaml", edit)


def removed_operation(d: Path) -> None:
    _yaml(d / "openapi.yaml", lambda doc: doc["paths"]["/api/v2/interaction-events"].pop("get"))


def required_answer_header(d: Path) -> None:
    def edit(doc):
        answer = doc["paths"]["/api/v2/widgets"]["get"]["responses"]["200"]
        answer["headers"] = {**answer["headers"],
                             "X-Request-Id": {"required": True, "schema": {"type": "string"}}}
    _yaml(d / "openapi.yaml", edit)


def optional_answer_header(d: Path) -> None:
    def edit(doc):
        answer = doc["paths"]["/api/v2/widgets"]["get"]["responses"]["200"]
        answer["headers"] = {**answer["headers"], "X-Trace": {"schema": {"type": "string"}}}
    _yaml(d / "openapi.yaml", edit)


def changed_security_scheme(d: Path) -> None:
    def edit(doc):
        for scheme in doc["components"]["securitySchemes"].values():
            scheme.update(type="apiKey", name="X-Api-Key", **{"in": "header"})
            scheme.pop("scheme", None)
    _yaml(d / "openapi.yaml", edit)


def changed_assumed_value(d: Path) -> None:
    _yaml(d / "assumptions.yaml", lambda doc: doc["values"]["auth"].update(
        header="X-Api-Key"))


EDITS: list[tuple[Callable[[Path], None], str]] = [
    (rename_event_type_with_alias, CONSUMER),
    (rename_widget_type_without_alias, CONSUMER),
    (new_required_attribute, CONSUMER),
    (narrowed_policy_scopes, CONSUMER),
    (narrowed_slug_pattern, CONSUMER),
    (lower_context_key_limit, CONSUMER),
    (new_required_query_parameter, CONSUMER),
    (removed_operation, CONSUMER),
    (changed_security_scheme, CONSUMER),
    (required_answer_header, PROVIDER),
    (raised_level, PROVIDER),
    (narrowed_event_resource, PROVIDER),
    (changed_assumed_value, PROVIDER),
    (widened_slug_pattern, PROVIDER),
    (widened_widget_types, COMPATIBLE),
    (widened_run_id_pattern, COMPATIBLE),
    (new_optional_metadata_field, COMPATIBLE),
    (lowered_level, COMPATIBLE),
    (optional_answer_header, COMPATIBLE),
    (description_only, DOCUMENTATION),
    (reworded_catalog_and_register, DOCUMENTATION),
]
# Consumer breaks a corpus document can show (a narrowed hub slug cannot: every valid
# mapping must name the contract's own hub, so no valid document reaches the change).
PROVABLE_EDITS = [rename_event_type_with_alias, rename_widget_type_without_alias,
                  new_required_attribute, narrowed_policy_scopes, lower_context_key_limit]
COMPATIBLE_EDITS = [edit for edit, cls in EDITS if cls in (COMPATIBLE, DOCUMENTATION)]


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("old") / "v1"
    shutil.copytree(V1, target)
    return target


def _edited(tmp_path: Path, edit: Callable[[Path], None]) -> Path:
    target = tmp_path / "v1"
    shutil.copytree(V1, target)
    edit(target)
    return target


def _compare(old: Path, new: Path) -> list[Change]:
    return compare_contracts(open_tree(old), open_tree(new))


# -- classification ---------------------------------------------------------------------


def test_a_contract_compared_with_itself_has_no_change(unchanged: Path):
    assert _compare(V1, unchanged) == []


@pytest.mark.parametrize(("edit", "expected"), EDITS, ids=[e.__name__ for e, _ in EDITS])
def test_each_edit_lands_in_its_class(tmp_path: Path, unchanged: Path,
                                      edit: Callable[[Path], None], expected: str):
    changes = _compare(unchanged, _edited(tmp_path, edit))
    classes = {change.change_class for change in changes}
    assert changes, "the edit was not found"
    # The most severe class found is the expected one: a breaking edit is breaking in the
    # expected direction, a compatible one breaks nothing, a description is documentation.
    if expected in (CONSUMER, PROVIDER):
        assert expected in classes, [c.line() for c in changes]
    else:
        assert not is_breaking(changes), [c.line() for c in changes]
        assert expected in classes
        if expected == DOCUMENTATION:
            assert classes == {DOCUMENTATION}, [c.line() for c in changes]


def test_a_rename_names_the_alias_that_bridges_it(tmp_path: Path, unchanged: Path):
    changes = _compare(unchanged, _edited(tmp_path, rename_event_type_with_alias))
    renames = [c for c in changes if c.change == "renamed"]
    assert {c.document for c in renames} == {"common.schema.json", "vocabulary/ops-hub.json"}
    assert all(c.alias == "ops-drift-detected -> ops-drift-found" for c in renames)
    assert all(c.change_class == CONSUMER for c in renames)
    assert "alias ops-drift-detected -> ops-drift-found bridges it" in renames[0].line()


def test_a_rename_without_alias_says_no_alias_bridges_it(tmp_path: Path, unchanged: Path):
    changes = _compare(unchanged, _edited(tmp_path, rename_widget_type_without_alias))
    (gone,) = [c for c in changes if c.old == "ops-risk"]
    assert gone.change_class == CONSUMER and gone.alias is None
    assert "no alias bridges it" in gone.change


def test_a_renamed_property_is_named_as_a_likely_rename(tmp_path: Path, unchanged: Path):
    def rename(d: Path) -> None:
        def edit(defs):
            properties = defs["Mapping"]["properties"]
            properties["contextRef"] = properties.pop("contextKey")
        _defs(d, "widget-mapping.schema.json", edit)

    changes = _compare(unchanged, _edited(tmp_path, rename))
    (gone,) = [c for c in changes if c.old == "contextKey"]
    assert gone.change_class == CONSUMER
    assert gone.change == "property removed (renamed to 'contextRef'?)"


def test_a_raised_acs_requirement_binds_activity_core(tmp_path: Path, unchanged: Path):
    catalog = yaml.load((V1 / "requirements.yaml").read_text("utf-8"), Loader=_LOADER)  # noqa: S506
    acs = [r["id"] for r in catalog["requirements"] if r["area"] == "ACS"
           and r["level"] == "SHOULD"]
    if not acs:
        pytest.skip("the catalog has no ACS SHOULD to raise")
    new = _edited(tmp_path, lambda d: _requirement(d, acs[0], level="MUST"))
    (change,) = [c for c in _compare(unchanged, new) if c.location == acs[0]]
    assert change.change_class == CONSUMER


def test_a_file_diff_does_not_read_is_listed_not_hidden(tmp_path: Path, unchanged: Path):
    new = _edited(tmp_path, lambda d: (d / "notes.txt").write_text("new\n"))
    (change,) = _compare(unchanged, new)
    assert change.document == "notes.txt" and change.change == "file added"
    assert "diff does not read this file" in change.reason


# -- proof by example -------------------------------------------------------------------


def _validator(directory: Path, kind: str) -> ContractValidator:
    return ContractValidator(load_contract_dir(directory, "v1"), kind)


@pytest.mark.parametrize("edit", PROVABLE_EDITS, ids=[e.__name__ for e in PROVABLE_EDITS])
def test_a_consumer_break_is_proven_by_a_document(tmp_path: Path, unchanged: Path,
                                                   edit: Callable[[Path], None]):
    new = _edited(tmp_path, edit)
    schema_breaks = [c for c in _compare(unchanged, new)
                     if c.change_class == CONSUMER and c.document.endswith(".schema.json")]
    assert schema_breaks
    for change in schema_breaks:
        witness = find_witness(unchanged, new, change)
        assert witness is not None, change.line()
        # Checked here again with validators of our own, not the witness search's.
        assert _validator(unchanged, witness.kind).is_valid(witness.document)
        assert not _validator(new, witness.kind).is_valid(witness.document)


@pytest.mark.parametrize("edit", COMPATIBLE_EDITS, ids=[e.__name__ for e in COMPATIBLE_EDITS])
def test_a_compatible_edit_keeps_the_valid_corpus_valid(tmp_path: Path,
                                                         edit: Callable[[Path], None]):
    new = _edited(tmp_path, edit)
    corpus = corpus_dir()
    assert corpus is not None
    checked = 0
    for kind in CONSUMER_KINDS:
        validator = _validator(new, kind)
        for path in sorted((corpus / "v1" / kind / "valid").glob("*.json")):
            document = json.loads(path.read_text("utf-8"))
            assert validator.is_valid(document), f"{path} refused after {edit.__name__}"
            checked += 1
    assert checked >= 20


def test_no_witness_is_invented_for_a_compatible_change(tmp_path: Path, unchanged: Path):
    new = _edited(tmp_path, widened_widget_types)
    for change in _compare(unchanged, new):
        assert find_witness(unchanged, new, change) is None


# -- the changelog ----------------------------------------------------------------------


def _v0_v1() -> list[Change]:
    return compare_contracts(open_tree(contracts_dir() / "v0", "v0"),
                             open_tree(contracts_dir() / "v1", "v1"))


def _v1_section() -> str:
    text = log.read_changelog(contracts_dir() / "CHANGELOG.md")
    return text.split("\n## v1", 1)[1].split("\n## v0", 1)[0]


def test_the_changelog_block_is_what_diff_v0_v1_finds():
    text = log.read_changelog(contracts_dir() / "CHANGELOG.md")
    assert log.blocks(text).get(("v0", "v1")) == log.render_block("v0", "v1", _v0_v1()), (
        "run `ihub-conformance diff v0 v1 --changelog write` and review the v1 section")


def test_every_name_the_changelog_v1_section_lists_appears_in_diff_v0_v1():
    prose = _v1_section().split("<!-- BEGIN generated", 1)[0]
    vocabulary = {*json.loads((contracts_dir() / "v0/vocabulary/ops-hub.json").read_text())[
        "eventTypes"]}
    for version in ("v0", "v1"):
        data = json.loads((contracts_dir() / version / "vocabulary/ops-hub.json").read_text())
        vocabulary |= {*data["eventTypes"], *data["widgetTypes"], *data["policyScopes"]}
    changes = _v0_v1()
    output = "\n".join(change.line() for change in changes)
    paragraphs = prose.split("\n\n")
    unchanged = _names("\n\n".join(p for p in paragraphs if p.startswith("Unchanged:")),
                       vocabulary)
    named = _names("\n\n".join(p for p in paragraphs if not p.startswith("Unchanged:")),
                   vocabulary)
    assert len(named) >= 15 and len(unchanged) >= 2
    for name in sorted(named):
        assert f'"{name}"' in output, f"changelog names {name}; diff v0 v1 does not"
    for name in sorted(unchanged):
        assert all(name not in (change.old, change.new) for change in changes), name


def _names(text: str, vocabulary: set[str]) -> set[str]:
    return {name for name in re.findall(r"`([a-z][a-z0-9-]+)`", text) if name in vocabulary}


def test_nothing_breaking_is_missing_from_the_changelog_section():
    section = _v1_section()
    for change in _v0_v1():
        if change.change_class in (CONSUMER, PROVIDER):
            assert change.line() in section
