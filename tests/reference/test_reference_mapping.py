"""The example widget mapping and the reference seed agree, and both follow the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ihub_conformance.reference.seed import load_seed
from ihub_conformance.reference.server import running_reference_hub
from ihub_conformance.validation.engine import violations

MAPPING = Path(__file__).resolve().parents[2] / "fixtures" / "mappings" / \
    "ops-hub-widget-mapping.json"
LIVE_EVENT_TYPES = {"ops-service-discovered", "ops-endpoint-verified", "ops-backup-verified",
                    "ops-drift-detected"}


@pytest.fixture(scope="module")
def mapping() -> dict:
    return json.loads(MAPPING.read_text(encoding="utf-8"))


@pytest.mark.requirement("ACS-02", "GATE-03")
def test_the_example_mapping_is_valid_and_covers_every_live_event_type(mapping: dict) -> None:
    assert violations("mapping", mapping) == []
    entries = mapping["mappings"]
    assert 6 <= len(entries) <= 8
    assert {m["eventType"] for m in entries} == LIVE_EVENT_TYPES
    assert {m["target"] for m in entries} == {"aggregate", "entity"}
    assert {tuple(sorted(m["widget"])) for m in entries} == {("id",), ("hub", "name")}


@pytest.mark.requirement("GATE-03", "VOC-11")
def test_every_mapped_widget_is_seeded_with_the_mapped_type_and_scope(mapping: dict) -> None:
    seed = load_seed()
    slugs = {h["id"]: h["slug"] for h in seed["hubs"]}
    by_id = {w["id"]: w for w in seed["widgets"]}
    by_name = {(slugs[w["hubId"]], w["name"]): w for w in seed["widgets"]}
    for entry in mapping["mappings"]:
        ref = entry["widget"]
        widget = by_id.get(ref["id"]) if "id" in ref else by_name.get((ref["hub"], ref["name"]))
        assert widget is not None, f"mapping names an unseeded widget: {ref}"
        assert (widget["widgetType"], widget["policyScope"]) == (
            entry["widgetType"], entry["policyScope"])
    assert len(seed["widgets"]) == len(mapping["mappings"])


@pytest.mark.requirement("GATE-06")
def test_one_event_per_mapping_entry_is_accepted_by_the_hub(mapping: dict) -> None:
    with running_reference_hub() as hub, hub.client() as http:
        widgets = http.get("/api/v2/widgets").json()["data"]
        by_name = {w["name"]: w["id"] for w in widgets}
        for entry in mapping["mappings"]:
            ref = entry["widget"]
            widget = ref.get("id") or by_name[ref["name"]]
            response = http.post("/api/v2/interaction-events", json={
                "widgetId": widget, "eventType": entry["eventType"],
                "metadata": {"context_key": entry.get("contextKey", "aggregate")}})
            assert response.status_code == 201, response.text
        total = http.get("/api/v2/interaction-events").json()["pagination"]["totalCount"]
        assert total == len(mapping["mappings"])
