"""The API key: every read and write refuses a missing, wrong or near-miss key.

A near miss is the real key with one character more (a hub comparing only the start
or the end of a key lets it in) or in another letter case (a hub comparing keys
case-blind). Whether an answer echoes a key is test_key_echo.py.
"""

from __future__ import annotations

import pytest

from ihub_conformance.suite.session import WRONG_KEY, HubSession

requirement = pytest.mark.requirement

# (requirement, path name) of every authenticated read of the two endpoints.
READS = [
    pytest.param("WID-01", "widgets", marks=requirement("WID-01"), id="widgets"),
    pytest.param("WID-01", "widget", marks=requirement("WID-01"), id="widget"),
    pytest.param("WID-01", "widget_versions", marks=requirement("WID-01", "WID-09"),
                 id="widget_versions"),
    pytest.param("EVT-01", "interaction_events", marks=requirement("EVT-01"),
                 id="interaction_events"),
]


def _path(hub: HubSession, name: str, widget_id: str) -> str:
    hub.require_read(name)
    return hub.path(name, id=widget_id) if "{id}" in hub.assumptions.get(f"paths.{name}") \
        else hub.path(name)


# A near-miss key is never recorded: a cassette holds placeholder credentials only.
NEAR_MISSES = {"key+1": lambda key: f"{key}1", "1+key": lambda key: f"1{key}",
               "other-case": str.swapcase}
BAD_KEYS = ["missing", "wrong", *NEAR_MISSES]


def _bad_key(hub: HubSession, variant: str) -> str | None:
    if variant == "missing":
        return None
    if variant == "wrong":
        return WRONG_KEY
    if hub.mode in ("record", "replay"):
        pytest.skip(f"near-miss keys are not recorded ({hub.mode} mode)")
    near = NEAR_MISSES[variant](hub.key)
    if near == hub.key:
        pytest.skip("the key has no letters")
    return near


@pytest.mark.parametrize("variant", BAD_KEYS)
@pytest.mark.parametrize(("rid", "name"), READS)
def test_reads_refuse_a_bad_key(hub: HubSession, a_widget_id: str, rid: str, name: str,
                                variant: str) -> None:
    hub.require_auth()
    key = _bad_key(hub, variant)
    response = hub.get(_path(hub, name, a_widget_id), key=key)
    hub.expect_rejected(response, case="unauthorized")


@pytest.mark.parametrize(("rid", "name"), READS)
def test_reads_accept_the_key(hub: HubSession, a_widget_id: str, rid: str, name: str) -> None:
    # 200 is no source statement: another 2xx, or a refusal of the key as the register
    # sends it, is a mismatch (ASM-06/ASM-01); anything else fails.
    hub.expect_status(hub.get(_path(hub, name, a_widget_id)), 200)


@requirement("WID-01", "EVT-01")
@pytest.mark.parametrize("key", [None, WRONG_KEY], ids=["missing", "wrong"])
def test_writes_refuse_a_bad_key_and_store_nothing(hub: HubSession, hub_record: dict,
                                                   manifest: dict, events_widget: dict,
                                                   declared_event_types: list[str],
                                                   key: str | None) -> None:
    hub.require_auth()
    label = "no-key" if key is None else "wrong-key"
    name = hub.widget_name(label)
    widget = hub.post(hub.path("widgets"), key=key, json={
        "hubId": hub_record["id"], "name": name, "widgetType": manifest["widgetTypes"][0]})
    hub.note_written("widget", widget, name)
    hub.expect_rejected(widget, case="unauthorized")
    event_type = declared_event_types[0]
    metadata = hub.event_metadata(label, event_type)
    event = hub.post(hub.path("interaction_events"), key=key, json={
        "widgetId": events_widget["id"], "eventType": event_type, "metadata": metadata})
    hub.note_written("interaction-event", event, event_type)
    hub.expect_rejected(event, case="unauthorized")
    assert name not in {row["name"] for row in hub.rows("widgets")}
    stored = [row for row in hub.rows("interaction_events",
                                      params={"widgetId": events_widget["id"]})
              if isinstance(row.get("metadata"), dict)
              and row["metadata"].get("context_key") == metadata["context_key"]]
    assert not stored, "an event sent with a bad key was stored"
