"""The schemas say all they can; what they cannot say is listed in their `x-rules`.

A plain JSON Schema validator sees only the schema. Every rule the tool adds in code must
therefore be listed (id, source quote or basis, the pointer and reason it is reported
with, an example document), and every rule a schema can state must be in the schema,
where the tool's engine reads it too (one verdict, not two).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ihub_conformance.contract.loader import available_versions, load_contract
from ihub_conformance.validation.engine import KINDS, validator_for
from ihub_conformance.validation.interop import listed_rule
from ihub_conformance.validation.rules import Vocabulary

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
ROOT_KINDS = {"mapping": "widget-mapping", "event": "interaction-event",
              "progress": "state-hub-progress", "manifest": "manifest", "widget": "widget"}


def _rules(version: str, kind: str) -> list[dict[str, Any]]:
    return load_contract(version).schemas[ROOT_KINDS[kind]].get("x-rules", [])


def _document_rules(version: str, kind: str) -> list[dict[str, Any]]:
    return [rule for rule in _rules(version, kind) if rule.get("scope") != "cross-document"]


def _plain(version: str, kind: str) -> Draft202012Validator:
    contract = load_contract(version)
    return Draft202012Validator(contract.schemas[ROOT_KINDS[kind]], registry=contract.registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


CASES = [(v, k) for v in available_versions() for k in ROOT_KINDS]


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_every_listed_rule_is_complete(version: str, kind: str) -> None:
    ids = set()
    for rule in _rules(version, kind):
        assert {"id", "rule", "example"} <= set(rule), rule
        assert rule["id"] not in ids
        ids.add(rule["id"])
        source = rule.get("source")
        assert source or rule.get("basis"), f"{rule['id']}: a source quote or the basis"
        if source:
            quote = source["quote"]
            text = (CORPUS.parents[1] / "contracts" / "source" / "ops-hub-evidence-intake.md")
            assert quote in " ".join(text.read_text("utf-8").split()), rule["id"]
        if rule.get("scope") == "cross-document":
            assert rule.get("checkedBy"), rule["id"]


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_each_example_breaks_its_rule_alone(version: str, kind: str) -> None:
    """A plain validator accepts the example; the tool refuses it for that rule only."""
    for rule in _document_rules(version, kind):
        example = rule["example"]
        assert _plain(version, kind).is_valid(example), rule["id"]
        found = validator_for(kind, version).violations(example)
        assert found, f"{rule['id']}: the tool accepts its example"
        rules = _document_rules(version, kind)
        assert {listed_rule(v, rules) for v in found} == {rule["id"]}, found


def _corpus(version: str, kind: str) -> list[Any]:
    return [json.loads(path.read_text("utf-8"))
            for path in sorted((CORPUS / version / kind).glob("*/*.json"))]


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_no_code_rule_goes_unlisted(version: str, kind: str) -> None:
    """Where the tool refuses what the schema accepts, a listed rule says why."""
    validator = validator_for(kind, version)
    plain = _plain(version, kind)
    rules = _document_rules(version, kind)
    for doc in _corpus(version, kind):
        if plain.is_valid(doc) and not validator.is_valid(doc):
            found = validator.violations(doc)
            assert all(listed_rule(v, rules) for v in found), found


@pytest.mark.parametrize("version", available_versions())
def test_the_schema_lists_follow_the_vocabulary(version: str) -> None:
    contract = load_contract(version)
    vocab = Vocabulary.from_contract(contract)
    manifest = contract.schemas["manifest"]
    refused = sorted(name for name in vocab.special
                     if name not in vocab.deferred and name not in vocab.expandable)
    assert manifest["$defs"]["RefusedName"]["not"]["enum"] == refused
    assert manifest["allOf"][0]["if"]["properties"]["hub"]["const"] == vocab.hub
    mapping = contract.schemas["widget-mapping"]["$defs"]
    document = mapping["MappingDocument"]
    assert document["properties"]["hub"]["const"] == vocab.hub
    assert mapping["WidgetRef"]["properties"]["hub"]["const"] == vocab.hub
    aggregate = {event for part in document["properties"]["mappings"]["allOf"]
                 for event in part["contains"]["properties"]["eventType"]["enum"]}
    assert aggregate == set(vocab.event_types)


@pytest.mark.parametrize("wrapper", ["widget_mapping", "capability_mapping"])
def test_a_plain_validator_reads_the_wrapped_mapping_forms(wrapper: str) -> None:
    bare = json.loads((CORPUS / "v1" / "mapping" / "valid" / "full-ops-hub.json").read_text())
    plain = _plain("v1", "mapping")
    assert plain.is_valid({wrapper: bare})
    assert not plain.is_valid({wrapper: bare, "other": 1})
    assert not plain.is_valid({wrapper: {**bare, "hub": "other-hub"}})
    assert KINDS["mapping"] == ("widget-mapping", "MappingDocument")
