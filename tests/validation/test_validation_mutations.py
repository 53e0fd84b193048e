"""Mutation tests: every contract-breaking change to a valid example is rejected.

Mutants are derived programmatically from the valid corpus (none of them is in
the repository): each non-optional field dropped, each typed value swapped for
a wrong type, an unknown field added to each strict object, each string
blanked, ids and timestamps corrupted, live names swapped for early ones and
secrets planted in free-form metadata. The lists of optional and free-form
paths below come from the source document, not from the schemas.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from document_mutants import (
    CORPUS,
    KINDS,
    UUID,
    mutants,
)
from ihub_conformance.documents import walk, with_value
from ihub_conformance.validation.engine import validator_for


def _examples() -> list[tuple[str, Path]]:
    return [
        (kind, path)
        for kind in KINDS
        for path in sorted((CORPUS / kind / "valid").glob("*.json"))
        if not path.name.startswith("wrapped-")
    ]


@pytest.mark.parametrize(("kind", "path"), _examples(), ids=lambda v: getattr(v, "name", v))
@pytest.mark.requirement("ACS-02", "ACS-03", "ACS-08")
def test_every_mutant_of_a_valid_example_is_rejected(kind: str, path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    validator = validator_for(kind)
    assert validator.is_valid(doc), validator.violations(doc)
    accepted: list[str] = []
    count = 0
    for description, mutant in mutants(kind, doc):
        count += 1
        if validator.is_valid(mutant) or not validator.violations(mutant):
            accepted.append(description)
    assert count >= 3
    assert not accepted, f"{path.name}: accepted {len(accepted)} of {count} mutants: {accepted}"


def test_mutation_generator_covers_each_class_of_change():
    doc = json.loads((CORPUS / "event" / "valid" / "endpoint-verified-entity.json").read_text())
    descriptions = [d for d, _ in mutants("event", doc)]
    for expected in (
        "drop /widgetId",
        "blank /eventType",
        "/widgetId as int",
        "truncated uuid /widgetId",
        "no offset /metadata/attributes/observed_at",
        "secret in /metadata/attributes/endpoint",
        "unknown field in /metadata",
        "unknown top-level field",
    ):
        assert expected in descriptions
    assert "drop /viewContext" not in descriptions  # optional per the source


_LIVE_EVENTS = {
    "ops-service-discovered",
    "ops-endpoint-verified",
    "ops-backup-verified",
    "ops-drift-detected",
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    event_type=st.text(min_size=0, max_size=40).filter(lambda t: t not in _LIVE_EVENTS),
    widget_id=st.text(max_size=40).filter(lambda t: not UUID.match(t.lower())),
)
def test_random_event_types_and_widget_ids_are_rejected(event_type: str, widget_id: str):
    doc = json.loads((CORPUS / "event" / "valid" / "service-discovered.json").read_text())
    validator = validator_for("event")
    bad_type = copy.deepcopy(doc)
    bad_type["eventType"] = event_type
    bad_type["metadata"]["idempotency_key"] = (
        f"{doc['metadata']['activity_core_run_id']}:{doc['metadata']['context_key']}:{event_type}"
    )
    assert not validator.is_valid(bad_type)
    assert any(v.pointer == "/eventType" for v in validator.violations(bad_type))
    bad_id = copy.deepcopy(doc)
    bad_id["widgetId"] = widget_id
    assert [v.pointer for v in validator.violations(bad_id)] == ["/widgetId"]


@settings(max_examples=100, deadline=None)
@given(name=st.from_regex(r"[a-z][a-zA-Z_]{0,12}", fullmatch=True))
def test_random_unknown_fields_on_strict_documents_are_rejected(name: str):
    for kind, filename in (
        ("event", "service-discovered.json"),
        ("widget", "service-catalog.json"),
        ("mapping", "single-entity.json"),
        ("manifest", "ops-hub-active.json"),
    ):
        doc = json.loads((CORPUS / kind / "valid" / filename).read_text())
        if name in doc:
            continue
        doc[name] = "x"
        assert not validator_for(kind).is_valid(doc), (kind, name)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_JSON, kind=st.sampled_from(KINDS), version=st.sampled_from(["v0", "v1"]))
def test_any_json_gets_a_verdict_and_never_crashes(doc: Any, kind: str, version: str):
    validator = validator_for(kind, version)
    found = validator.violations(doc)
    assert validator.is_valid(doc) == (not found)
    assert all(v.pointer == "" or v.pointer.startswith("/") for v in found)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_JSON, data=st.data())
def test_any_value_planted_in_a_valid_mapping_gets_a_verdict(value: Any, data: st.DataObject):
    doc = json.loads((CORPUS / "mapping" / "valid" / "full-ops-hub.json").read_text())
    paths = [path for path, _ in walk(doc) if path]
    path = data.draw(st.sampled_from(paths))
    mutant = with_value(doc, path, value)
    validator = validator_for("mapping")
    assert validator.is_valid(mutant) == (not validator.violations(mutant))
