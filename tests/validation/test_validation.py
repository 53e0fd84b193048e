"""The validation engine: reasons, pointers, domain rules, caching."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.errors import ConformanceError
from ihub_conformance.validation.engine import Violation, validator_for, violations
from ihub_conformance.validation.rules import encoded_size, probe_detail_max_bytes

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"


def _load(kind: str, name: str, version: str = "v1"):
    return json.loads((CORPUS / version / kind / "valid" / name).read_text(encoding="utf-8"))


@pytest.fixture
def event():
    return _load("event", "endpoint-verified-entity.json")


def _at(found: list[Violation], pointer: str) -> list[str]:
    return [v.reason for v in found if v.pointer == pointer]


def test_valid_event_has_no_violations(event):
    validator = validator_for("event")
    assert validator.violations(event) == []
    assert validator.is_valid(event)


def test_validators_are_cached():
    assert validator_for("event") is validator_for("event", "v1")
    assert validator_for("event", "v0") is not validator_for("event", "v1")


def test_unknown_kind_is_a_conformance_error():
    with pytest.raises(ConformanceError, match="unknown document kind 'nope'"):
        validator_for("nope")


@pytest.mark.requirement("VOC-02", "VOC-03", "VOC-07")
@pytest.mark.parametrize(("early", "live"), [("ops-service-observed", "ops-service-discovered"),
                                             ("ops-inventory-drift", "ops-drift-detected")])
def test_early_event_type_names_the_live_replacement(event, early, live):
    event["eventType"] = early
    reasons = _at(violations("event", event), "/eventType")
    assert reasons == [f"early-proposal event type {early!r}; use {live!r}"]


@pytest.mark.requirement("VOC-04", "VOC-13", "FBK-04")
def test_deferred_access_path_stays_on_fallback(event):
    event["eventType"] = "ops-access-path-checked"
    (reason,) = _at(violations("event", event), "/eventType")
    assert "deferred" in reason and "State Hub fallback" in reason


@pytest.mark.requirement("ACS-07")
def test_idempotency_key_mismatch_names_the_expected_key(event):
    event["metadata"]["idempotency_key"] = "run-20260627-0001:railiance/inter-hub"
    (reason,) = _at(violations("event", event), "/metadata/idempotency_key")
    assert "mismatch" in reason
    assert "'run-20260627-0001:railiance/inter-hub:ops-endpoint-verified'" in reason
    assert not validator_for("event").is_valid(event)


@pytest.mark.requirement("ACS-07", "ACS-08")
def test_idempotency_key_mismatch_never_echoes_a_secret_like_part(event):
    canary = "tokenCanary9f8e7d6c5b4a"
    event["metadata"]["context_key"] = canary
    event["metadata"]["idempotency_key"] = "not-the-key"
    found = violations("event", event)
    reasons = [violation.reason for violation in found]
    assert any("mismatch" in reason for reason in reasons)
    assert not any(canary in reason for reason in reasons)


@pytest.mark.requirement("ACS-03")
def test_missing_field_points_at_the_field(event):
    del event["metadata"]["context_key"]
    assert _at(violations("event", event), "/metadata/context_key") == [
        "missing required field 'context_key'"
    ]


@pytest.mark.requirement("ACS-01")
@pytest.mark.parametrize("path", [("metadata",), ("metadata", "attributes"),
                                  ("metadata", "attributes", "observed_at")])
def test_a_missing_observed_at_is_a_should_warning_not_a_violation(event, path):
    node = event
    for name in path[:-1]:
        node = node[name]
    del node[path[-1]]
    validator = validator_for("event", "v1")
    assert validator.violations(event) == []
    (warning,) = validator.advisories(event)
    assert warning.pointer == "/" + "/".join(path)
    assert "should" in warning.reason and "ACS-01, SHOULD" in warning.reason


@pytest.mark.requirement("ACS-03")
def test_server_set_fields_are_rejected(event):
    event["occurredAt"] = "2026-06-27T10:00:00Z"
    event["actorType"] = "api"
    found = violations("event", event)
    assert "server-set" in _at(found, "/occurredAt")[0]
    assert "server-set" in _at(found, "/actorType")[0]


@pytest.mark.parametrize(
    "value",
    [
        "Bearer abc.def.ghi",
        "https://hub.example/api?token=abc",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
        "-----BEGIN RSA PRIVATE KEY-----",
        "AKIAIOSFODNN7EXAMPLE",
        "password=hunter2",
        "hub.coulomb.social/api/v2/widgets?page=2",
        "https://ops:hunter2@registry.example/v2",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "xoxb-123456789012-abcdefghijkl",
        "sk_live_abcdefghijklmnop1234",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
    ],
)
@pytest.mark.requirement("ACS-08")
def test_secret_values_are_rejected_without_echoing_them(event, value):
    event["metadata"]["attributes"]["note"] = value
    found = violations("event", event)
    reasons = _at(found, "/metadata/attributes/note")
    assert reasons and all(reason.startswith("secret-like material") for reason in reasons)
    assert value not in " ".join(str(v) for v in found)


@pytest.mark.parametrize(
    "name",
    [
        "headers",
        "response_body",
        "Authorization",
        "api_key",
        "cookie",
        "accessToken",
        "clientSecret",
        "X-Api-Key",
        "dbPassword",
        "responseBody",
        "set-cookie",
        "raw_output",
        "credentials",
    ],
)
@pytest.mark.requirement("ACS-08")
def test_secret_field_names_are_rejected(event, name):
    event["metadata"]["attributes"]["nested"] = {name: "x"}
    (reason,) = _at(violations("event", event), f"/metadata/attributes/nested/{name}")
    assert "forbidden field name" in reason


@pytest.mark.requirement("VOC-01", "VOC-15")
def test_v0_accepts_its_own_names_and_v1_does_not(event):
    early = copy.deepcopy(event)
    early["eventType"] = "ops-service-observed"
    early["metadata"]["idempotency_key"] = (
        "run-20260627-0001:railiance/inter-hub:ops-service-observed"
    )
    assert validator_for("event", "v0").is_valid(early)
    assert not validator_for("event", "v1").is_valid(early)


@pytest.mark.requirement("ACS-11", "VOC-05", "VOC-14")
def test_wrapped_mapping_pointers_include_the_wrapper():
    doc = {"widget_mapping": _load("mapping", "full-ops-hub.json")}
    assert violations("mapping", doc) == []
    doc["widget_mapping"]["mappings"][0]["policyScope"] = "ops-evidence"
    (violation,) = violations("mapping", doc)
    assert violation.pointer == "/widget_mapping/mappings/0/policyScope"
    assert "not seeded" in violation.reason and "ops-production" in violation.reason


def test_resource_kinds_validate_responses():
    widget = {
        "id": "00000000-0000-4000-8000-000000000101",
        "hubId": "00000000-0000-4000-8000-000000000001",
        "name": "Railiance service catalog",
        "widgetType": "ops-service-catalog",
        "capabilityRef": None,
        "viewContext": None,
        "policyScope": "internal",
        "status": "active",
        "adapterSpecId": None,
        "createdAt": "2026-06-27T10:00:00Z",
        "updatedAt": "2026-06-27T10:00:00Z",
        "extra": "resources may carry more",
    }
    assert validator_for("widget-resource").violations(widget) == []
    widget["status"] = "archived"
    assert _at(validator_for("widget-resource").violations(widget), "/status")
    event = {
        "id": "00000000-0000-4000-8000-000000000201",
        "widgetId": "00000000-0000-4000-8000-000000000105",
        "eventType": "ops-endpoint-verified",
        "viewContextRef": None,
        "metadata": {},
        "occurredAt": "2026-06-27T10:00:00Z",
        "actorType": "api",
        "createdAt": "2026-06-27T10:00:00Z",
    }
    assert validator_for("event-resource").is_valid(event)
    event["actorType"] = "user"
    assert _at(validator_for("event-resource").violations(event), "/actorType")


@pytest.mark.parametrize(
    "value",
    [
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "00000000-0000-4000-8000-000000000105",
        "https://hub.coulomb.social/api/v2/health",
        "Checked 3 endpoints; all answered 200 within 40 ms",
        "registry.example/ops/state-hub@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    ],
)
def test_ordinary_evidence_values_are_not_mistaken_for_secrets(event, value):
    event["metadata"]["attributes"]["note"] = value
    assert violations("event", event) == []


@pytest.mark.requirement("ACS-08")
def test_context_key_carrying_a_query_string_is_rejected(event):
    context = "railiance/inter-hub?token=abc"
    event["metadata"]["context_key"] = context
    event["metadata"]["idempotency_key"] = f"run-20260627-0001:{context}:ops-endpoint-verified"
    found = violations("event", event)
    assert [v.pointer for v in found] == ["/metadata/context_key"]
    assert found[0].reason.startswith("secret-like material")


def test_non_json_python_values_are_violations_not_crashes():
    import datetime

    doc = _load("manifest", "ops-hub-active.json")
    doc["createdAt"] = datetime.datetime(2026, 6, 27, tzinfo=datetime.UTC)
    validator = validator_for("manifest")
    assert not validator.is_valid(doc)
    (violation,) = validator.violations(doc)
    assert violation.pointer == "" and "not a JSON document" in violation.reason


@pytest.mark.requirement("VOC-15")
def test_v0_names_the_version_a_live_name_belongs_to():
    doc = _load("event", "service-discovered.json")
    (violation,) = validator_for("event", "v0").violations(doc)
    assert violation.pointer == "/eventType"
    assert "contract v1 name" in violation.reason and "--contract v1" in violation.reason


@pytest.mark.requirement("VOC-11")
@pytest.mark.parametrize("widget_type", ["ops-readiness-gate", "ops-service", "ops-risk"])
def test_backup_verified_is_an_ordering_precondition_not_a_widget_type_rule(widget_type):
    """'after a backup-set widget exists': any live widget type is valid; a warning at most."""
    doc = _load("mapping", "full-ops-hub.json")
    (entry,) = [e for e in doc["mappings"] if e["eventType"] == "ops-backup-verified"]
    assert entry["widgetType"] == "ops-backup-set"
    validator = validator_for("mapping")
    assert violations("mapping", doc) == [] and validator.advisories(doc) == []
    entry["widgetType"] = widget_type
    assert violations("mapping", doc) == []  # never rejected
    (warning,) = validator.advisories(doc)
    assert warning.pointer == f"/mappings/{doc['mappings'].index(entry)}/eventType"
    assert "after a ops-backup-set widget exists (VOC-11)" in warning.reason
    # another entry naming a backup-set widget satisfies the precondition
    doc["mappings"].append(dict(entry, widgetType="ops-backup-set", contextKey="b/1",
                                target="entity"))
    assert validator.advisories(doc) == []


@pytest.mark.requirement("ACS-04")
def test_a_mapping_covering_fewer_first_slice_types_is_reported_not_rejected():
    doc = {"widget_mapping": _load("mapping", "full-ops-hub.json")}
    validator = validator_for("mapping")
    assert validator.advisories(doc) == []
    inner = doc["widget_mapping"]
    inner["mappings"] = [e for e in inner["mappings"]
                         if e["eventType"] not in ("ops-drift-detected", "ops-endpoint-verified")]
    assert violations("mapping", doc) == []
    (warning,) = validator.advisories(doc)
    assert warning.pointer == "/widget_mapping/mappings"
    assert "covers 2 of the 4" in warning.reason
    assert "ops-endpoint-verified, ops-drift-detected" in warning.reason


@pytest.mark.requirement("VOC-06", "VOC-12")
def test_drift_can_be_represented_by_an_ops_risk_widget():
    doc = _load("mapping", "full-ops-hub.json")
    drift = [e for e in doc["mappings"] if e["eventType"] == "ops-drift-detected"]
    assert drift and all(e["widgetType"] == "ops-risk" for e in drift)
    assert violations("mapping", doc) == []
    # the early card name for drift is refused with ops-risk as its replacement
    drift[0]["widgetType"] = "ops-drift-card"
    (violation,) = violations("mapping", doc)
    assert violation.reason == "early-proposal widget type 'ops-drift-card'; use 'ops-risk'"


@pytest.mark.requirement("ACS-09", "ACS-06")
@pytest.mark.parametrize(
    ("state", "valid"),
    [
        ("missing_inter_hub_config", True),
        ("inter_hub_sink_deferred", True),
        ("submitted", False),  # ACS-09: not the source's current state
        ("inter_hub_ok", False),
        ("", False),
    ],
)
def test_progress_detail_records_the_inter_hub_sink_state(state: str, valid: bool):
    doc = _load("progress", "single-probe.json")
    doc[0]["detail"]["inter_hub_sink"] = state
    found = violations("progress", doc)
    assert (found == []) is valid
    if not valid:
        assert [v.pointer for v in found] == ["/0/detail/inter_hub_sink"]


@pytest.mark.requirement("VOC-14")
def test_an_explicitly_expanded_manifest_may_declare_ops_evidence():
    """'Do not seed ... unless the manifest is explicitly expanded to include it'."""
    manifest = _load("manifest", "ops-hub-expanded-with-ops-evidence.json")
    assert "ops-evidence" in manifest["policyScopes"]
    assert violations("manifest", manifest) == []
    # a mapping still may not use it: there the scope is replaced by declared ones (VOC-05)
    mapping = _load("mapping", "full-ops-hub.json")
    mapping["mappings"][0]["policyScope"] = "ops-evidence"
    (violation,) = violations("mapping", mapping)
    assert "not seeded" in violation.reason


@pytest.mark.requirement("ACS-09")
def test_progress_detail_must_record_the_inter_hub_sink_state():
    doc = _load("progress", "single-probe.json")
    del doc[0]["detail"]["inter_hub_sink"]
    assert [v.pointer for v in violations("progress", doc)] == ["/0/detail/inter_hub_sink"]


@pytest.mark.requirement("ACS-06")
def test_probe_detail_size_is_the_schema_bound():
    """'compact' is one bound, x-maxBytes of ProbeDetail: the engine and the gate read it."""
    doc = _load("progress", "single-probe.json")
    schemas = load_contract("v1").schemas
    bound, size_of = probe_detail_max_bytes(schemas), encoded_size
    assert bound == schemas["state-hub-progress"]["$defs"]["ProbeDetail"]["x-maxBytes"] == 2048
    detail = doc[0]["detail"]
    detail["summary"] = "s"  # then pad attributes with short safe values up to the bound
    detail["attributes"] = {}
    index = 0
    while size_of(detail) < bound:
        detail["attributes"][f"k{index}"] = "v"
        index += 1
    while size_of(detail) > bound:
        detail["attributes"].pop(f"k{index - 1}")
        index -= 1
    assert violations("progress", doc) == []  # at the bound: compact
    detail["attributes"]["k-over"] = "xx"
    (violation,) = violations("progress", doc)
    assert violation.pointer == "/0/detail" and "not compact" in violation.reason


@pytest.mark.requirement("WID-04", "WID-05")
def test_a_widget_without_policy_scope_is_valid_with_a_warning():
    """The source lists policyScope as optional; omitted it defaults to internal."""
    widget = json.loads((CORPUS / "v1" / "widget" / "valid" / "no-policy-scope.json")
                        .read_text(encoding="utf-8"))
    assert "policyScope" not in widget
    validator = validator_for("widget")
    assert validator.violations(widget) == []
    (warning,) = validator.advisories(widget)
    assert warning.pointer == "/policyScope" and "'internal'" in warning.reason
    widget["policyScope"] = "ops-production"
    assert validator.advisories(widget) == []
