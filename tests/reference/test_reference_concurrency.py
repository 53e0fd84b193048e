"""Reference hub under 4 concurrent writers x 1,000 events over real HTTP: exact counts."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ihub_conformance.reference.server import RunningHub, running_reference_hub

HUB_ID = "00000000-0000-4000-8000-000000000001"
WRITERS = 4
EVENTS_EACH = 1000
EVENTS = "/api/v2/interaction-events"


def _writer(hub: RunningHub, widget: str, writer: int) -> list[str]:
    ids = []
    with hub.client(timeout=30.0) as http:
        for n in range(EVENTS_EACH):
            response = http.post(EVENTS, json={
                "widgetId": widget, "eventType": "ops-endpoint-verified",
                "metadata": {"writer": writer, "n": n}})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    return ids


def _run(hub: RunningHub) -> None:
    with hub.client() as http:
        widget = http.post("/api/v2/widgets", json={
            "hubId": HUB_ID, "name": f"load-{uuid.uuid4()}", "widgetType": "ops-endpoint"}
        ).json()["id"]
    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(_writer, hub, widget, w) for w in range(WRITERS)]
        returned = [eid for f in futures for eid in f.result(timeout=120)]
    assert len(returned) == len(set(returned)) == WRITERS * EVENTS_EACH
    stored: list[dict[str, object]] = []
    with hub.client() as http:
        first = http.get(EVENTS, params={"widgetId": widget, "pageSize": 200}).json()
        assert first["pagination"]["totalCount"] == WRITERS * EVENTS_EACH
        for page in range(1, first["pagination"]["totalPages"] + 1):
            stored += http.get(EVENTS, params={"widgetId": widget, "pageSize": 200,
                                               "page": page}).json()["data"]
        assert http.get(EVENTS, params={"pageSize": 1}).json()["pagination"][
            "totalCount"] == WRITERS * EVENTS_EACH
    assert sorted(e["id"] for e in stored) == sorted(returned)
    per_writer = {w: sorted(e["metadata"]["n"] for e in stored  # type: ignore[index]
                            if e["metadata"]["writer"] == w)  # type: ignore[index]
                  for w in range(WRITERS)}
    assert all(ns == list(range(EVENTS_EACH)) for ns in per_writer.values())


@pytest.mark.slow
def test_four_writers_in_memory() -> None:
    with running_reference_hub() as hub:
        _run(hub)


@pytest.mark.slow
def test_four_writers_on_a_file_database(tmp_path: Path) -> None:
    with running_reference_hub(db=str(tmp_path / "hub.sqlite")) as hub:
        _run(hub)
