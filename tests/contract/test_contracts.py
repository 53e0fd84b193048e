"""The contract files: meta-validation, $id versioning, offline $ref resolution, loader API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from ihub_conformance.contract import coverage
from ihub_conformance.contract.loader import (
    ID_BASE,
    SCHEMA_FILES,
    available_versions,
    load_contract,
)
from ihub_conformance.errors import ConformanceError

VERSIONS = ["v0", "v1"]


def _refs(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def test_both_versions_are_available():
    assert {"v0", "v1"} <= set(available_versions())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.requirement("ACS-02", "ACS-03")
def test_every_schema_meta_validates_against_2020_12(version: str):
    contract = load_contract(version)
    assert set(contract.schemas) == set(SCHEMA_FILES)
    for name, schema in contract.schemas.items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_id_carries_the_version(version: str):
    contract = load_contract(version)
    for name, schema in contract.schemas.items():
        assert schema["$id"] == f"{ID_BASE}/{version}/{SCHEMA_FILES[name]}"
        assert f"/{version}/" in schema["$id"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_ref_resolves_offline(version: str):
    contract = load_contract(version)
    resolved = 0
    for schema in contract.schemas.values():
        resolver = contract.registry.resolver(base_uri=schema["$id"])
        for where, ref in _refs(schema):
            try:
                target = resolver.lookup(ref).contents
            except Unresolvable as exc:  # pragma: no cover - the failure message is the point
                pytest.fail(f"{schema['$id']}{where}: $ref {ref!r} does not resolve: {exc}")
            assert isinstance(target, dict | bool)
            resolved += 1
    assert resolved > 40


def test_registry_never_fetches_unknown_documents():
    contract = load_contract("v1")
    resolver = contract.registry.resolver(base_uri=contract.schema_id("common"))
    with pytest.raises(Unresolvable):
        resolver.lookup("https://example.com/elsewhere.schema.json")


def test_unknown_version_names_the_available_ones():
    with pytest.raises(ConformanceError) as caught:
        load_contract("v9")
    message = str(caught.value)
    assert "'v9'" in message and "v0" in message and "v1" in message


def test_contract_is_cached_per_version():
    assert load_contract("v1") is load_contract("v1")
    assert load_contract("v0") is not load_contract("v1")


@pytest.mark.requirement(
    "VOC-02", "VOC-03", "VOC-04", "VOC-05", "VOC-08", "VOC-09", "VOC-10", "VOC-14"
)
def _source_list(section: str, lead: str) -> list[str]:
    """The backticked names of the bullets right after the line starting with ``lead``."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(lead)) + 1
    names = []
    for line in lines[start:]:
        if not line.strip():
            continue
        if not line.startswith("- "):
            break
        names.append(re.match(r"- `([^`]+)`", line).group(1))
    return names


def test_live_vocabulary_matches_the_source():
    """Names, read from the source itself, not counts: a renamed scope cannot slip through."""
    sections = coverage.source_sections(coverage.source_path().read_text(encoding="utf-8"))
    raw = coverage.source_path().read_text(encoding="utf-8")
    recommended = raw.split("## Recommended Manifest Vocabulary")[1].split("\n## ")[0]
    vocabulary = load_contract("v1").vocabulary
    assert vocabulary["policyScopes"] == _source_list(recommended, "Policy scopes:")
    assert vocabulary["widgetTypes"] == _source_list(recommended, "Widget types for")
    assert vocabulary["eventTypes"] == _source_list(recommended, "Event types for the first")
    rows = dict(re.findall(r"^\| `([^`]+)`[^|]* \| (.+?) \|$",
                           raw.split("## 2026-06-27 Live Vocabulary Alignment")[1], re.M))
    assert vocabulary["deferred"] == [name for name, live in rows.items()
                                      if live.startswith("Deferred")]
    for early, live in rows.items():
        if live.startswith("`"):
            assert vocabulary["aliases"][early] == live.strip("`")
    scope_row = next(live for early, live in rows.items() if early == "ops-evidence")
    assert vocabulary["notSeeded"]["policyScopes"] == ["ops-evidence"]
    assert set(re.findall(r"`([^`]+)`", scope_row)) <= set(vocabulary["policyScopes"])
    assert "ops-evidence" not in vocabulary["policyScopes"]
    assert "Recommended Manifest Vocabulary" in sections


@pytest.mark.parametrize("version", VERSIONS)
def test_vocabulary_instance_validates_and_feeds_the_enums(version: str):
    contract = load_contract(version)
    vocabulary = contract.vocabulary
    validator = Draft202012Validator(contract.schemas["vocabulary"])
    assert not list(validator.iter_errors(vocabulary))
    defs = contract.schemas["common"]["$defs"]
    assert defs["EventType"]["enum"] == vocabulary["eventTypes"]
    assert defs["WidgetType"]["enum"] == vocabulary["widgetTypes"]
    assert defs["PolicyScope"]["enum"] == vocabulary["policyScopes"]


@pytest.mark.requirement("VOC-06", "VOC-15")
def test_v0_is_the_early_proposal():
    vocabulary = load_contract("v0").vocabulary
    assert "ops-service-observed" in vocabulary["eventTypes"]
    assert "ops-access-path-checked" in vocabulary["eventTypes"]
    assert vocabulary["policyScopes"] == ["ops-evidence"]
    assert all(name.endswith("-card") for name in vocabulary["widgetTypes"])


def test_contract_files_are_plain_json(tmp_path):
    contract = load_contract("v1")
    for filename in SCHEMA_FILES.values():
        json.loads((contract.directory / filename).read_text(encoding="utf-8"))


def _without_vocabulary(version: str) -> dict:
    """A version's schemas with the version and the vocabulary enums taken out."""
    contract = load_contract(version)
    text = json.dumps(contract.schemas, sort_keys=True).replace(f"/{version}/", "/VERSION/")
    text = text.replace(f"(contract {version})", "(contract VERSION)")
    schemas = json.loads(text.replace(f"contract {version} ", "contract VERSION "))
    defs = schemas["common"]["$defs"]
    for name in ("PolicyScope", "WidgetType", "EventType", "EvidenceType"):
        defs[name].pop("enum")
    # Vocabulary-derived parts (tests/contract/test_contract_rules.py ties them to it).
    for schema in schemas.values():
        schema.pop("x-rules", None)
    schemas["manifest"]["$defs"]["RefusedName"]["not"].pop("enum")
    mapping = schemas["widget-mapping"]["$defs"]
    mapping["MappingDocument"]["properties"]["mappings"].pop("allOf")
    mapping["Mapping"]["allOf"] = [part for part in mapping["Mapping"]["allOf"]
                                   if "eventType" not in part["if"]["properties"]]
    mapping["MappingDocument"]["properties"]["contract"].pop("const")
    schemas["vocabulary"]["properties"]["contract"].pop("const")
    return schemas


@pytest.mark.requirement("VOC-01")
def test_v0_and_v1_differ_only_in_vocabulary():
    # The version change is a vocabulary change: the shapes must not drift apart.
    assert _without_vocabulary("v0") == _without_vocabulary("v1")
