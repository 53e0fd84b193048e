"""Reference hub: registries, hubs, manifest, consumer, OpenAPI, State Hub progress, routing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ihub_conformance.reference import app as app_module
from ihub_conformance.reference.server import RunningHub, running_reference_hub

HUB_ID = "00000000-0000-4000-8000-000000000001"
MANIFEST_ID = "00000000-0000-4000-8000-000000000011"
LIVE_EVENT_TYPES = ["ops-service-discovered", "ops-endpoint-verified", "ops-backup-verified",
                    "ops-drift-detected"]


def _progress(n: int, event_type: str = "ops_inventory_probe", day: int = 1) -> dict[str, object]:
    return {"id": n, "event_type": event_type, "activity_core_run_id": f"run-{n}",
            "context_key": "railiance/inter-hub",
            "idempotency_key": f"run-{n}:railiance/inter-hub:ops-endpoint-verified",
            "detail": {"activity_core_event_type": "ops-endpoint-verified",
                       "observed_at": "2026-06-27T07:00:00Z", "outcome": "ok"},
            "created_at": f"2026-06-{day:02d}T08:00:00Z"}


@pytest.mark.requirement("VOC-10", "VOC-04")
def test_event_type_registry_holds_declared_and_undeclared_types(http: httpx.Client) -> None:
    body = http.get("/api/v2/event-types").json()
    names = [row["name"] for row in body["data"]]
    assert names[:4] == LIVE_EVENT_TYPES
    assert {"ops-access-path-checked", "ops-service-observed", "widget-viewed"} <= set(names)
    assert body["pagination"]["totalCount"] == len(names) == 8
    assert all(set(row) == {"name", "description"} for row in body["data"])
    two = http.get("/api/v2/event-types", params={"pageSize": 3, "page": 3}).json()
    assert [row["name"] for row in two["data"]] == names[6:8]


@pytest.mark.requirement("VOC-08", "VOC-09", "VOC-14")
def test_widget_type_and_policy_scope_registries(http: httpx.Client) -> None:
    types = [r["name"] for r in http.get("/api/v2/widget-types").json()["data"]]
    assert "ops-readiness-gate" in types and "generic-panel" in types and len(types) == 7
    scopes = [r["name"] for r in http.get("/api/v2/policy-scopes").json()["data"]]
    assert "internal" in scopes and "ops-evidence" not in scopes and len(scopes) == 8


@pytest.mark.requirement("GATE-02")
def test_hubs_and_the_active_manifest(http: httpx.Client) -> None:
    hubs = http.get("/api/v2/hubs").json()["data"]
    assert hubs == [{"id": HUB_ID, "slug": "ops-hub", "name": "Ops Hub"}]
    manifest = http.get("/api/v2/hubs/ops-hub/manifest").json()
    assert manifest["id"] == MANIFEST_ID and manifest["hub"] == "ops-hub"
    assert manifest["status"] == "active" and manifest["version"] == 1
    assert manifest["eventTypes"] == LIVE_EVENT_TYPES
    assert manifest["annotationCategories"] == ["activity-core-evidence"]
    assert "ops-evidence" not in manifest["policyScopes"] and len(manifest["policyScopes"]) == 7
    response = http.get("/api/v2/hubs/no-such-hub/manifest")
    assert response.status_code == 404 and response.json()["error"]["field"] == "slug"


def test_consumer_read_tells_bound_from_unbound(hub: RunningHub, http: httpx.Client) -> None:
    assert http.get("/api/v2/consumer").json() == {
        "id": "00000000-0000-4000-8000-000000000021", "name": "activity-core", "hubId": HUB_ID,
        "manifestId": MANIFEST_ID}
    with hub.client(key=hub.unbound_key) as unbound:
        assert unbound.get("/api/v2/consumer").json()["manifestId"] is None


def test_openapi_is_served_verbatim_without_auth(hub: RunningHub, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    document = tmp_path / "openapi.yaml"
    document.write_bytes(b"openapi: 3.1.0\n# served as is\n")
    monkeypatch.setattr(app_module, "openapi_path", lambda: document)
    response = httpx.get(hub.openapi_url)
    assert response.status_code == 200 and response.content == document.read_bytes()
    assert response.headers["content-type"].startswith("application/yaml")
    document.unlink()
    missing = httpx.get(hub.openapi_url)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_contract_openapi_file_is_the_one_served(hub: RunningHub) -> None:
    path = app_module.openapi_path()
    response = httpx.get(hub.openapi_url)
    if path.is_file():
        assert response.content == path.read_bytes()
    else:
        assert response.status_code == 404


@pytest.mark.requirement("FBK-02")
def test_progress_is_public_and_answers_the_seeded_probe(hub: RunningHub) -> None:
    response = httpx.get(f"{hub.base_url}/progress/",
                         params={"event_type": "ops_inventory_probe", "limit": 20})
    assert response.status_code == 200
    events = response.json()
    assert [e["id"] for e in events] == [2, 1]  # newest first
    for event in events:
        assert event["event_type"] == "ops_inventory_probe"
        assert event["idempotency_key"] == (
            f"{event['activity_core_run_id']}:{event['context_key']}:"
            f"{event['detail']['activity_core_event_type']}")
    assert httpx.get(f"{hub.base_url}/progress/", params={"event_type": "other"}).json() == []


@pytest.mark.requirement("FBK-02")
def test_progress_is_newest_first_filtered_and_limited() -> None:
    seed_rows = [_progress(n, day=n) for n in range(1, 26)] + [_progress(99, "other", 28)]
    seed_raw = {
        "hubs": [{"id": HUB_ID, "slug": "ops-hub", "name": "Ops Hub"}],
        "consumers": [{"id": "00000000-0000-4000-8000-000000000021", "name": "activity-core",
                       "hub": "ops-hub", "manifest": None}],
        "progress": seed_rows,
    }
    with running_reference_hub(seed=seed_raw) as running:
        url = f"{running.base_url}/progress/"
        default = httpx.get(url, params={"event_type": "ops_inventory_probe"}).json()
        assert [e["id"] for e in default] == list(range(25, 5, -1))  # 20, newest first
        assert [e["id"] for e in httpx.get(url, params={"limit": 3}).json()] == [99, 25, 24]
        assert len(httpx.get(url, params={"limit": 500}).json()) == 26
        for bad in ("0", "501", "x", "-1", "2.5", ""):
            response = httpx.get(url, params={"limit": bad})
            assert response.status_code == 400 and response.json()["error"]["field"] == "limit"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v2/nope"), ("GET", "/api/v2/widgets/"), ("GET", "/"), ("POST", "/api/v3/x"),
    ("GET", "/progress"),
])
def test_unknown_routes_are_json_404(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/api/v2/widgets"), ("PUT", "/api/v2/interaction-events"),
    ("POST", "/api/v2/event-types"), ("POST", "/api/v2/consumer"), ("POST", "/progress/"),
    ("PATCH", "/api/v2/widgets/00000000-0000-4000-8000-000000000101"),
])
def test_wrong_methods_are_json_405(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"]
