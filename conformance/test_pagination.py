"""Pagination (every row exactly once, integer counts) and the rate-limit reads of gate 1."""

from __future__ import annotations

from typing import Any

import pytest

from ihub_conformance.suite.attribution import expect_assumption
from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement
PAGED_EVENTS = 5
SMALL_PAGE = 2


@pytest.fixture(scope="session")
def paged_widget(hub: HubSession, hub_record: dict, manifest: dict,
                 declared_event_types: list[str]) -> tuple[dict, list[str]]:
    """A fresh widget of this run with exactly PAGED_EVENTS events."""
    widget = hub.create_widget("paging", hub_record["id"], manifest["widgetTypes"][0])
    ids = []
    for n in range(PAGED_EVENTS):
        event_type = declared_event_types[n % len(declared_event_types)]
        response = hub.post(hub.path("interaction_events"), json={
            "widgetId": widget["id"], "eventType": event_type,
            "metadata": hub.event_metadata(f"paging-{n}", event_type)})
        hub.note_written("interaction-event", response, event_type)
        ids.append(hub.expect(response, 201, "event-resource")["id"])
    return widget, ids


def _walk(hub: HubSession, name: str, size: int, row_kind: str,
          params: dict[str, Any] | None = None) -> tuple[list[str], list[dict]]:
    """Row ids over every page of ``size`` and each page's pagination block."""
    pag = hub.assumptions.values["pagination"]
    ids: list[str] = []
    metas: list[dict] = []
    for number in range(1, 10_000):
        response = hub.page(name, page=number, size=size, params=params)
        rows = hub.expect_page(response, row_kind)
        meta = response.json()[pag["meta_key"]]
        metas.append(meta)
        ids.extend(row["id"] for row in rows)
        if number >= meta["totalPages"]:
            break
    return ids, metas


def _exactly_once(ids: list[str], metas: list[dict], size: int) -> None:
    total = metas[0]["totalCount"]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"rows listed twice across pages: {duplicates}"
    assert len(ids) == total, f"{len(ids)} rows over the pages, totalCount says {total}"
    assert metas[0]["totalPages"] == -(-total // size), "totalPages does not fit totalCount"
    for number, meta in enumerate(metas, start=1):
        assert meta["page"] == number and meta["pageSize"] == size, f"page {number}: {meta}"
        assert meta["totalCount"] == total, "totalCount changed between pages"


@requirement("EVT-02", "GATE-01")
def test_event_pages_return_every_row_once(hub: HubSession,
                                           paged_widget: tuple[dict, list[str]]) -> None:
    widget, created = paged_widget
    ids, metas = _walk(hub, "interaction_events", SMALL_PAGE, "event-resource",
                       {"widgetId": widget["id"]})
    _exactly_once(ids, metas, SMALL_PAGE)
    assert sorted(ids) == sorted(created), "the pages do not hold exactly the widget's events"
    assert metas[0]["totalCount"] == PAGED_EVENTS


@requirement("EVT-02")
def test_page_past_the_end_is_empty(hub: HubSession,
                                    paged_widget: tuple[dict, list[str]]) -> None:
    widget, _ = paged_widget
    response = hub.page("interaction_events", page=PAGED_EVENTS + 1, size=SMALL_PAGE,
                        params={"widgetId": widget["id"]})
    assert hub.expect_page(response, "event-resource") == []


@requirement("WID-02", "GATE-01")
def test_widget_pages_return_every_row_once(hub: HubSession) -> None:
    size = 3
    ids, metas = _walk(hub, "widgets", size, "widget-resource")
    _exactly_once(ids, metas, size)
    everything = {row["id"] for row in hub.rows("widgets")}
    assert set(ids) == everything, "small and large pages list different widgets"


@requirement("WID-02", "EVT-02")
@pytest.mark.parametrize("name", ["widgets", "interaction_events"])
def test_page_size_default_and_cap(hub: HubSession, name: str) -> None:
    pag = hub.assumptions.values["pagination"]
    response = hub.page(name)
    hub.expect_page(response, None)
    assert response.json()[pag["meta_key"]]["pageSize"] == pag["default_size"]
    too_big = hub.page(name, size=int(pag["max_size"]) + 1)
    hub.expect_rejected(too_big, field=pag["size_param"])
    page_zero = hub.page(name, page=0, size=1)
    hub.expect_rejected(page_zero, field=pag["page_param"])


@requirement("GATE-01")
@pytest.mark.assumption("ASM-11")
@pytest.mark.parametrize("name", ["widgets", "interaction_events", "event_types"])
def test_rate_limit_headers_are_integers(hub: HubSession, name: str) -> None:
    """Each authenticated read makes the hub read its rate-limit counters: that read must
    not fail (GATE-01). The headers reporting the counters are the register's guess."""
    response = hub.page(name, size=1)
    assert response.status_code < 500, \
        f"GET {name} answered {response.status_code}: the hub's rate-limit read failed"
    limits = hub.assumptions.values.get("rate_limit") or {}
    for key in ("limit_header", "remaining_header", "reset_header"):
        header = limits.get(key)
        if header:
            value = response.headers.get(header)
            expect_assumption("ASM-11", value is not None and value.strip().isdigit(),
                              expected=f"{header}: a decimal integer", observed=value)
