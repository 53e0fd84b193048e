"""POST/GET /api/v2/widgets: required and optional fields, defaults, registries, versions.

Each behaviour is checked both ways: the valid request is stored as sent, the
invalid one is refused with a 4xx naming the field and is not stored (proved by
listing the widgets afterwards).
"""

from __future__ import annotations

from typing import Any

import pytest

from ihub_conformance.suite.attribution import expect_assumption, unverifiable
from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement
UNKNOWN_HUB = "00000000-0000-4000-8000-00000000dead"
UNKNOWN_WIDGET = "00000000-0000-4000-8000-00000000beef"


def _body(hub: HubSession, hub_record: dict[str, Any], manifest: dict[str, Any],
          label: str, **fields: Any) -> dict[str, Any]:
    body = {"hubId": hub_record["id"], "name": hub.widget_name(label),
            "widgetType": manifest["widgetTypes"][0]}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not _OMIT}


_OMIT = object()


def _create(hub: HubSession, body: dict[str, Any]) -> dict[str, Any]:
    response = hub.post(hub.path("widgets"), json=body)
    hub.note_written("widget", response, str(body.get("name")))
    return hub.expect_created(response, "create_widget", "widget-resource")


def _stored_like(hub: HubSession, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Widgets on the hub carrying this request's unique name or capabilityRef."""
    marks = {body.get("name"), body.get("capabilityRef")} - {None, ""}
    return [row for row in hub.rows("widgets")
            if row.get("name") in marks or row.get("capabilityRef") in marks]


def _refused_and_absent(hub: HubSession, body: Any, *, field: str | None,
                        content: bytes | None = None, headers: dict | None = None,
                        case: str = "validation") -> None:
    hub.require_writes()  # a broken hub would store it: never try that read-only
    if content is not None:
        response = hub.post(hub.path("widgets"), content=content, headers=headers)
    else:
        response = hub.post(hub.path("widgets"), json=body)
    hub.note_written("widget", response, str(body.get("name")))
    hub.expect_rejected(response, field=field, case=case)
    stored = _stored_like(hub, body)
    assert not stored, f"refused with {response.status_code} but stored: {stored}"


@pytest.fixture(scope="session")
def minimal_widget(hub: HubSession, hub_record: dict, manifest: dict) -> dict[str, Any]:
    """Created with the three required fields only."""
    hub.require_writes()
    return _create(hub, _body(hub, hub_record, manifest, "required-only"))


@pytest.fixture(scope="session")
def full_body(hub: HubSession, hub_record: dict, manifest: dict) -> dict[str, Any]:
    scope = "ops-registry" if "ops-registry" in manifest["policyScopes"] else \
        manifest["policyScopes"][-1]
    return _body(
        hub, hub_record, manifest, "all-optional",
        widgetType=manifest["widgetTypes"][-1],
        capabilityRef=f"ihub-conformance:{hub.run_id}:capability",
        viewContext=f"ihub-conformance:{hub.run_id}:view",
        policyScope=scope,
        status="draft",
    )


@pytest.fixture(scope="session")
def full_widget(hub: HubSession, full_body: dict) -> dict[str, Any]:
    """Created with every optional field set."""
    hub.require_writes()
    return _create(hub, full_body)


# -- required fields ----------------------------------------------------------------------


@requirement("WID-03")
def test_required_fields_are_enough(hub: HubSession, minimal_widget: dict,
                                    hub_record: dict, manifest: dict) -> None:
    assert minimal_widget["hubId"] == hub_record["id"]
    assert minimal_widget["name"] == hub.widget_name("required-only")
    assert minimal_widget["widgetType"] == manifest["widgetTypes"][0]
    stored = hub.read_widget(minimal_widget["id"])
    assert stored["id"] == minimal_widget["id"]
    assert stored["name"] == minimal_widget["name"]


@requirement("WID-03")
def test_unknown_widget_is_404_with_the_error_body(hub: HubSession) -> None:
    # The read that proves what creation stored must not pass off a missing widget as found.
    hub.require_read("widget")
    hub.expect_rejected(hub.get(hub.path("widget", id=UNKNOWN_WIDGET)), case="not_found")


@requirement("WID-03")
@pytest.mark.parametrize("field", ["hubId", "name", "widgetType"])
def test_missing_required_field_is_refused(hub: HubSession, hub_record: dict, manifest: dict,
                                           field: str) -> None:
    body = _body(hub, hub_record, manifest, f"missing-{field}",
                 capabilityRef=f"ihub-conformance:{hub.run_id}:missing-{field}")
    body.pop(field)
    _refused_and_absent(hub, body, field=field)


@requirement("WID-03")
def test_empty_name_is_refused(hub: HubSession, hub_record: dict, manifest: dict) -> None:
    body = _body(hub, hub_record, manifest, "empty-name", name="",
                 capabilityRef=f"ihub-conformance:{hub.run_id}:empty-name")
    _refused_and_absent(hub, body, field="name")


@requirement("WID-03")
def test_unknown_hub_is_refused(hub: HubSession, hub_record: dict, manifest: dict) -> None:
    body = _body(hub, hub_record, manifest, "unknown-hub", hubId=UNKNOWN_HUB)
    _refused_and_absent(hub, body, field="hubId", case="unknown_reference")


@requirement("WID-03")
def test_malformed_json_is_refused_not_500(hub: HubSession, hub_record: dict,
                                           manifest: dict) -> None:
    body = _body(hub, hub_record, manifest, "malformed-json")
    raw = (str(body).replace("'", '"')[:-1] + ",").encode()  # a JSON object cut short
    _refused_and_absent(hub, body, field=None, content=raw,
                        headers={"Content-Type": "application/json"})


@requirement("WID-03")
def test_oversized_body_is_refused(hub: HubSession, hub_record: dict, manifest: dict) -> None:
    cap = hub.assumptions.get("limits.max_body_bytes")
    if cap is None:
        unverifiable("the register knows no body cap (values.limits.max_body_bytes: null)")
    body = _body(hub, hub_record, manifest, "oversized", viewContext="x" * (int(cap) + 1))
    hub.require_writes()
    response = hub.post(hub.path("widgets"), json=body)
    hub.note_written("widget", response, body["name"])
    hub.expect_rejected(response, case="payload_too_large")
    assert not _stored_like(hub, body)


# -- optional fields and defaults ----------------------------------------------------------


@requirement("WID-04")
def test_optional_fields_are_stored(hub: HubSession, full_widget: dict, full_body: dict) -> None:
    # adapterSpecId has its own test: it names an adapter spec of the hub (ASM-20).
    optional = ("capabilityRef", "viewContext", "policyScope", "status")
    answered = {k: full_widget.get(k) for k in optional}
    assert answered == {k: full_body[k] for k in optional}
    stored = hub.read_widget(full_widget["id"])
    assert {k: stored.get(k) for k in optional} == {k: full_body[k] for k in optional}


@requirement("WID-04")
@pytest.mark.assumption("ASM-20")
def test_adapter_spec_id_is_stored_verbatim(hub: HubSession, hub_record: dict,
                                            manifest: dict) -> None:
    """adapterSpecId most likely names an adapter-spec row: only an id the register names
    (an existing adapter spec) is sent; none is ever invented."""
    spec = hub.assumptions.get("widgets.adapter_spec_id")
    if spec is None:
        unverifiable("the register names no adapter spec of this hub "
                     "(values.widgets.adapter_spec_id: null), so adapterSpecId is not sent; "
                     "calibrate reads one from an existing widget")
    hub.require_writes()
    body = _body(hub, hub_record, manifest, "adapter-spec", adapterSpecId=spec)
    response = hub.post(hub.path("widgets"), json=body)
    hub.note_written("widget", response, body["name"])
    if hub.refuses_field(response, "adapterSpecId"):
        expect_assumption("ASM-20", False, expected=f"adapter spec {spec} exists on the hub",
                          observed=f"{response.status_code} naming adapterSpecId",
                          detail=f"POST {hub.path('widgets')}")
    widget = hub.expect_created(response, "create_widget", "widget-resource")
    assert widget.get("adapterSpecId") == spec, f"answered {widget.get('adapterSpecId')!r}"
    stored = hub.read_widget(widget["id"])
    assert stored.get("adapterSpecId") == spec, f"stored {stored.get('adapterSpecId')!r}"


@requirement("WID-04")
def test_unset_optional_fields_come_back_null(minimal_widget: dict) -> None:
    for name in ("capabilityRef", "viewContext", "adapterSpecId"):
        assert minimal_widget.get(name) is None, f"{name} = {minimal_widget.get(name)!r}"


@requirement("WID-05")
def test_policy_scope_defaults_to_internal(hub: HubSession, minimal_widget: dict) -> None:
    default = hub.assumptions.get("widgets.default_policy_scope")
    assert minimal_widget["policyScope"] == default
    stored = hub.read_widget(minimal_widget["id"])
    assert stored["policyScope"] == default


@requirement("WID-05")
def test_explicit_policy_scope_is_kept(full_widget: dict, full_body: dict) -> None:
    assert full_widget["policyScope"] == full_body["policyScope"]


# -- status -------------------------------------------------------------------------------


@requirement("WID-06")
@pytest.mark.assumption("ASM-07")
def test_status_defaults_to_active(hub: HubSession, minimal_widget: dict) -> None:
    # The source lists the valid statuses; which one is the default is our guess (ASM-07).
    assert minimal_widget["status"] in ("active", "deprecated", "draft")
    default = hub.assumptions.get("widgets.default_status")
    expect_assumption("ASM-07", default is None or minimal_widget["status"] == default,
                      expected=default, observed=minimal_widget["status"],
                      detail="status of a widget created without one")


@requirement("WID-06")
@pytest.mark.parametrize("status", ["active", "deprecated", "draft"])
def test_valid_status_is_accepted(hub: HubSession, hub_record: dict, manifest: dict,
                                  status: str) -> None:
    hub.require_writes()
    widget = _create(hub, _body(hub, hub_record, manifest, f"status-{status}", status=status))
    assert widget["status"] == status


@requirement("WID-06")
@pytest.mark.parametrize("status", ["archived", "ACTIVE", ""])
def test_invalid_status_is_refused(hub: HubSession, hub_record: dict, manifest: dict,
                                   status: str) -> None:
    label = f"status-invalid-{status or 'empty'}"
    _refused_and_absent(hub, _body(hub, hub_record, manifest, label, status=status),
                        field="status")


# -- registries ---------------------------------------------------------------------------


@requirement("WID-07")
def test_registered_widget_types_are_accepted(minimal_widget: dict, full_widget: dict,
                                              registry: dict) -> None:
    assert minimal_widget["widgetType"] in registry["widget_types"]
    assert full_widget["widgetType"] in registry["widget_types"]


@requirement("WID-07")
@pytest.mark.parametrize("widget_type", ["ihub-conformance-unknown-type", "ops-evidence-card"])
def test_unregistered_widget_type_is_refused(hub: HubSession, hub_record: dict, manifest: dict,
                                             registry: dict, widget_type: str) -> None:
    if widget_type in registry["widget_types"]:
        pytest.skip(f"{widget_type} is registered on this hub")
    _refused_and_absent(hub, _body(hub, hub_record, manifest, f"type-{widget_type}",
                                   widgetType=widget_type), field="widgetType",
                        case="unknown_reference")


@requirement("WID-08")
def test_registered_policy_scope_is_accepted(full_widget: dict, registry: dict) -> None:
    assert full_widget["policyScope"] in registry["policy_scopes"]


@requirement("WID-08", "VOC-14")
@pytest.mark.parametrize("scope", ["ihub-conformance-unknown-scope", "ops-evidence"])
def test_unregistered_policy_scope_is_refused(hub: HubSession, hub_record: dict, manifest: dict,
                                              registry: dict, scope: str) -> None:
    if scope in registry["policy_scopes"]:
        # VOC-14: ops-evidence is not seeded "unless the manifest is explicitly expanded"
        if scope == "ops-evidence" and scope not in manifest["policyScopes"]:
            pytest.fail("ops-evidence is in the policy-scope registry while the active "
                        "manifest does not declare it (no explicit expansion)", pytrace=False)
        pytest.skip(f"{scope} is registered on this hub"
                    + (" and declared by the expanded manifest" if scope == "ops-evidence"
                       else ""))
    _refused_and_absent(hub, _body(hub, hub_record, manifest, f"scope-{scope}",
                                   policyScope=scope), field="policyScope",
                        case="unknown_reference")


# -- the initial WidgetVersion ------------------------------------------------------------


@requirement("WID-09")
@pytest.mark.assumption("ASM-08")
def test_creation_makes_one_initial_version(hub: HubSession, minimal_widget: dict,
                                            full_widget: dict) -> None:
    hub.require_read("widget_versions")
    guessed = []
    for widget in (minimal_widget, full_widget):
        rows = hub.expect_page(hub.page("widget_versions", id=widget["id"]), "widget-version")
        assert len(rows) == 1, f"{len(rows)} versions right after creating {widget['name']!r}"
        version = rows[0]
        assert version["widgetId"] == widget["id"]
        # The source says only that a snapshot is made: its number and how it spells the
        # widget's fields are the register's guess (ASM-08).
        snapshot = version["snapshot"]
        differ = [name for name in ("name", "widgetType", "policyScope", "status",
                                    "capabilityRef") if snapshot.get(name) != widget[name]]
        if version["version"] != 1 or differ:
            guessed.append(f"{widget['name']!r}: version {version['version']}, snapshot "
                           f"keys {sorted(snapshot)}")
    expect_assumption("ASM-08", not guessed, expected="version 1 whose snapshot holds the "
                      "created fields as the resource spells them", observed="; ".join(guessed))
