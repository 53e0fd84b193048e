"""Pagination (every row exactly once, integer counts) and the rate-limit reads of gate 1."""

from __future__ import annotations

from typing import Any

import pytest

from ihub_conformance.contract.dialect import PageView, rate_limit_headers
from ihub_conformance.suite.attribution import expect_assumption, unverifiable
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
        ids.append(hub.expect_created(response, "create_event", "event-resource")["id"])
    return widget, ids


def _walk(hub: HubSession, name: str, size: int, row_kind: str,
          params: dict[str, Any] | None = None) -> tuple[list[str], list[PageView]]:
    """Row ids over every page of ``size`` (the one pagination loop) and each page."""
    ids: list[str] = []
    views: list[PageView] = []
    for response, view in hub.pages(name, size=size, params=params):
        hub.expect_page(response, row_kind)
        assert view is not None
        views.append(view)
        ids.extend(row["id"] for row in view.rows)
    return ids, views


def _exactly_once(hub: HubSession, ids: list[str], views: list[PageView], size: int) -> None:
    """Every row once (the source: paginated); counts that fit, where the dialect has them."""
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"rows listed twice across pages: {duplicates}"
    first = int(hub.assumptions.get("pagination.first_page"))
    total = views[0].total
    if total is not None:
        assert len(ids) == total, f"{len(ids)} rows over the pages, the total says {total}"
        if views[0].pages is not None:
            assert views[0].pages == -(-total // size), "the page count does not fit the total"
    for number, view in enumerate(views):
        assert view.total == total, "the total changed between pages"
        for got, want, what in ((view.page, first + number, "page"), (view.size, size, "size")):
            if got is not None:
                assert got == want, f"page {number}: {what} {got!r}, expected {want}"


@requirement("EVT-02", "GATE-01")
def test_event_pages_return_every_row_once(hub: HubSession,
                                           paged_widget: tuple[dict, list[str]]) -> None:
    widget, created = paged_widget
    ids, views = _walk(hub, "interaction_events", SMALL_PAGE, "event-resource",
                       {"widgetId": widget["id"]})
    _exactly_once(hub, ids, views, SMALL_PAGE)
    assert sorted(ids) == sorted(created), "the pages do not hold exactly the widget's events"
    assert views[0].total in (None, PAGED_EVENTS)


@requirement("EVT-02")
def test_page_past_the_end_is_empty(hub: HubSession,
                                    paged_widget: tuple[dict, list[str]]) -> None:
    widget, _ = paged_widget
    response = hub.page("interaction_events", index=PAGED_EVENTS, size=SMALL_PAGE,
                        params={"widgetId": widget["id"]})
    assert hub.expect_page(response, "event-resource") == []


@requirement("WID-02", "GATE-01")
def test_widget_pages_return_every_row_once(hub: HubSession) -> None:
    size = 3
    ids, views = _walk(hub, "widgets", size, "widget-resource")
    _exactly_once(hub, ids, views, size)
    everything = {row["id"] for row in hub.rows("widgets")}
    assert set(ids) == everything, "small and large pages list different widgets"


@requirement("WID-02", "EVT-02")
@pytest.mark.assumption("ASM-02")
@pytest.mark.parametrize("name", ["widgets", "interaction_events"])
def test_page_size_default_and_cap(hub: HubSession, name: str) -> None:
    """The default and cap of the page size and the first page number are register guesses."""
    pag = hub.assumptions.values["pagination"]
    response = hub.page(name)
    rows = hub.expect_page(response, None)
    expect_assumption("ASM-02", len(rows) <= pag["default_size"],
                      expected=f"at most {pag['default_size']} rows by default",
                      observed=len(rows), detail=f"GET {hub.path(name)}")
    too_big = hub.page(name, size=int(pag["max_size"]) + 1)
    _refused_or_bounded(hub, too_big, pag["size_param"], int(pag["max_size"]))
    before_first = hub.page(name, index=-1, size=1)
    _refused_or_bounded(hub, before_first, pag["page_param"], None)


def _refused_or_bounded(hub: HubSession, response: Any, param: str, cap: int | None) -> None:
    """An out-of-range page parameter: never a 5xx (the source); refused or served within
    bounds as the register's bad_page says (ASM-02)."""
    assert response.status_code < 500, f"{param}: {response.status_code} {response.text[:200]}"
    if hub.assumptions.rejection_ok("bad_page", 200) and response.status_code == 200:
        if cap is not None:
            rows = hub.expect_page(response, None)
            assert len(rows) <= cap, f"{len(rows)} rows past the page-size cap {cap}"
        return
    hub.expect_rejected(response, case="bad_page", field=param)


@requirement("GATE-01")
@pytest.mark.assumption("ASM-11")
@pytest.mark.parametrize("name", ["widgets", "interaction_events", "event_types"])
def test_rate_limit_headers_are_integers(hub: HubSession, name: str) -> None:
    """Each authenticated read makes the hub read its rate-limit counters: that read must
    not fail (GATE-01). The headers reporting the counters are the register's guess."""
    hub.require_read(name)
    response = hub.page(name, size=1)
    assert response.status_code < 500, \
        f"GET {name} answered {response.status_code}: the hub's rate-limit read failed"
    names = rate_limit_headers(hub.assumptions)
    if not names:
        unverifiable("the register names no rate-limit headers (values.rate_limit)")
    for header in names:
        value = response.headers.get(header)
        expect_assumption("ASM-11", value is not None and value.strip().isdigit(),
                          expected=f"{header}: a decimal integer", observed=value,
                          detail=f"GET {hub.path(name)}")
