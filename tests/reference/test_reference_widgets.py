"""Reference hub: POST/GET /api/v2/widgets, each rule both ways (accepted; refused, not stored)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

HUB_ID = "00000000-0000-4000-8000-000000000001"
SEED_WIDGET = "00000000-0000-4000-8000-000000000101"
LIVE_SCOPES = ["ops-local", "ops-transitional-prod", "ops-production", "ops-threephoenix",
               "ops-registry", "ops-secrets", "ops-backup-retention"]
LIVE_WIDGET_TYPES = ["ops-service-catalog", "ops-service", "ops-endpoint", "ops-backup-set",
                     "ops-readiness-gate", "ops-risk"]


def _widget(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"hubId": HUB_ID, "name": f"w-{uuid.uuid4()}",
                               "widgetType": "ops-service"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _names(http: httpx.Client) -> list[str]:
    rows = http.get("/api/v2/widgets", params={"pageSize": 200}).json()
    assert rows["pagination"]["totalPages"] <= 1, "test hub grew past one page"
    return [w["name"] for w in rows["data"]]


def _refused(http: httpx.Client, body: object, status: int, field: str | None) -> None:
    before = http.get("/api/v2/widgets").json()["pagination"]["totalCount"]
    response = http.post("/api/v2/widgets", content=json.dumps(body),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] == {400: "validation_failed", 422: "unknown_reference"}[status]
    assert http.get("/api/v2/widgets").json()["pagination"]["totalCount"] == before
    if isinstance(body, dict) and isinstance(body.get("name"), str):
        assert body["name"] not in _names(http)


@pytest.mark.requirement("WID-02")
def test_list_is_an_envelope_of_the_seed_widgets(http: httpx.Client) -> None:
    body = http.get("/api/v2/widgets").json()
    assert set(body) == {"data", "pagination"}
    ids = {w["id"] for w in body["data"]}
    assert {f"00000000-0000-4000-8000-0000000001{n:02d}" for n in range(1, 8)} <= ids
    meta = body["pagination"]
    assert meta["page"] == 1 and meta["pageSize"] == 50
    assert isinstance(meta["totalCount"], int) and meta["totalCount"] >= 7
    keys = [(w["createdAt"], w["id"]) for w in body["data"]]
    assert keys == sorted(keys)


@pytest.mark.requirement("WID-03", "WID-05", "WID-09")
def test_minimal_widget_gets_defaults_and_a_first_version(http: httpx.Client) -> None:
    body = _widget()
    response = http.post("/api/v2/widgets", json=body)
    assert response.status_code == 201
    widget = response.json()
    assert widget["policyScope"] == "internal" and widget["status"] == "active"
    for field in ("capabilityRef", "viewContext", "adapterSpecId"):
        assert widget[field] is None
    uuid.UUID(widget["id"])
    assert http.get(f"/api/v2/widgets/{widget['id']}").json() == widget
    assert body["name"] in _names(http)
    versions = http.get(f"/api/v2/widgets/{widget['id']}/versions").json()
    assert versions["pagination"]["totalCount"] == 1
    [version] = versions["data"]
    assert version["version"] == 1 and version["widgetId"] == widget["id"]
    assert version["snapshot"] == {k: widget[k] for k in (
        "hubId", "name", "widgetType", "capabilityRef", "viewContext", "policyScope", "status",
        "adapterSpecId")}


SEED_ADAPTER_SPEC = "00000000-0000-4000-8000-000000000031"


@pytest.mark.requirement("WID-04")
def test_optional_fields_are_stored(http: httpx.Client) -> None:
    body = _widget(capabilityRef="cap://ops/catalog", viewContext="railiance/prod",
                   policyScope="ops-registry", status="draft", adapterSpecId=SEED_ADAPTER_SPEC,
                   somethingElse="ignored")
    widget = http.post("/api/v2/widgets", json=body).json()
    for field in ("capabilityRef", "viewContext", "policyScope", "status", "adapterSpecId"):
        assert widget[field] == body[field]
    assert "somethingElse" not in widget
    assert http.get(f"/api/v2/widgets/{widget['id']}").json()["adapterSpecId"] \
        == SEED_ADAPTER_SPEC


@pytest.mark.parametrize(("spec", "status"), [
    ("adapter-7", 422), ("00000000-0000-4000-8000-00000000ad00", 422)],
    ids=["not-a-uuid", "no-such-spec"])
def test_adapter_spec_id_must_name_an_adapter_spec(http: httpx.Client, spec: str,
                                                   status: int) -> None:
    """A foreign key (ASM-20): a hub of the register's guess refuses what names no row."""
    body = _widget(adapterSpecId=spec)
    response = http.post("/api/v2/widgets", json=body)
    assert response.status_code == status
    assert response.json()["error"]["field"] == "adapterSpecId"
    assert body["name"] not in _names(http)


@pytest.mark.requirement("WID-06")
@pytest.mark.parametrize("status", ["active", "deprecated", "draft"])
def test_each_valid_status_is_accepted(http: httpx.Client, status: str) -> None:
    response = http.post("/api/v2/widgets", json=_widget(status=status))
    assert response.status_code == 201 and response.json()["status"] == status


@pytest.mark.requirement("WID-06")
@pytest.mark.parametrize("status", ["archived", "ACTIVE", "", 1, None, ["active"]])
def test_other_statuses_are_refused_and_not_stored(http: httpx.Client, status: object) -> None:
    _refused(http, _widget(status=status), 400, "status")


@pytest.mark.requirement("WID-07", "VOC-09")
@pytest.mark.parametrize("widget_type", [*LIVE_WIDGET_TYPES, "generic-panel"])
def test_registered_widget_types_are_accepted(http: httpx.Client, widget_type: str) -> None:
    assert http.post("/api/v2/widgets", json=_widget(widgetType=widget_type)
                     ).status_code == 201


@pytest.mark.requirement("WID-07", "VOC-06")
@pytest.mark.parametrize("widget_type", ["ops-service-card", "ops-access-path", "nope"])
def test_unregistered_widget_types_are_refused(http: httpx.Client, widget_type: str) -> None:
    _refused(http, _widget(widgetType=widget_type), 422, "widgetType")


@pytest.mark.requirement("WID-08", "VOC-08")
@pytest.mark.parametrize("scope", [*LIVE_SCOPES, "internal"])
def test_registered_policy_scopes_are_accepted(http: httpx.Client, scope: str) -> None:
    response = http.post("/api/v2/widgets", json=_widget(policyScope=scope))
    assert response.status_code == 201 and response.json()["policyScope"] == scope


@pytest.mark.requirement("WID-08", "VOC-05", "VOC-14")
@pytest.mark.parametrize("scope", ["ops-evidence", "public", "Ops-Production"])
def test_unregistered_policy_scopes_are_refused(http: httpx.Client, scope: str) -> None:
    _refused(http, _widget(policyScope=scope), 422, "policyScope")


@pytest.mark.requirement("WID-05")
def test_null_policy_scope_means_the_default(http: httpx.Client) -> None:
    assert http.post("/api/v2/widgets", json=_widget(policyScope=None)).json()[
        "policyScope"] == "internal"


@pytest.mark.requirement("WID-03")
@pytest.mark.parametrize("field", ["hubId", "name", "widgetType"])
@pytest.mark.parametrize("value", [..., None, 42, "", "   ", ["x"], {"a": 1}, True])
def test_required_fields_missing_blank_or_mistyped_are_400(
    http: httpx.Client, field: str, value: object
) -> None:
    _refused(http, _widget(**{field: value}), 400, field)


@pytest.mark.requirement("WID-03")
def test_hub_id_must_name_an_existing_hub(http: httpx.Client) -> None:
    _refused(http, _widget(hubId=str(uuid.uuid4())), 422, "hubId")
    _refused(http, _widget(hubId="ops-hub"), 400, "hubId")


@pytest.mark.requirement("WID-04")
@pytest.mark.parametrize("field", ["capabilityRef", "viewContext", "policyScope", "adapterSpecId"])
@pytest.mark.parametrize("value", [1, "", ["a"], {"a": "b"}, False])
def test_optional_fields_with_wrong_types_are_400(
    http: httpx.Client, field: str, value: object
) -> None:
    _refused(http, _widget(**{field: value}), 400, field)


@pytest.mark.requirement("WID-03")
@pytest.mark.parametrize("body", [[], "widget", 1, None])
def test_a_body_that_is_not_an_object_is_400(http: httpx.Client, body: object) -> None:
    _refused(http, body, 400, None)


@pytest.mark.requirement("WID-09")
def test_single_widget_and_versions_reads_refuse_unknown_ids(http: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    for path in (f"/api/v2/widgets/{missing}", f"/api/v2/widgets/{missing}/versions"):
        response = http.get(path)
        assert response.status_code == 404 and response.json()["error"]["field"] == "id"
    response = http.get("/api/v2/widgets/not-a-uuid")
    assert response.status_code == 400 and response.json()["error"]["field"] == "id"
    assert http.get(f"/api/v2/widgets/{SEED_WIDGET}/versions").json()["data"][0]["version"] == 1
