"""The State Hub fallback read: GET /progress/?event_type=ops_inventory_probe&limit=20.

Against the reference target the State Hub is served by the same app; against a
live target it is ``values.state_hub.url`` of the assumption register (the test
skips when that is not set). The State Hub needs no key and is never sent one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ihub_conformance.secrets.scan import contains_literal, scan_json
from ihub_conformance.suite.attribution import expect_assumption, unverifiable
from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement
PROBE = "ops_inventory_probe"


def _progress(hub: HubSession, *, kind: str | None = "progress", **params: Any) -> list[dict]:
    """The answer of GET /progress/; ``kind`` None for a query that is not the probe query
    (the State Hub records other event types too: only probe answers are contract-shaped)."""
    base = hub.assumptions.get("state_hub.url")
    if hub.mode == "live" and not base:
        unverifiable("no State Hub URL (set values.state_hub.url in --assumptions)")
    path = hub.assumptions.get("state_hub.path")
    url = f"{str(base).rstrip('/')}{path}" if base and hub.mode == "live" else path
    body = hub.expect(hub.get(url, params=params, key=None), 200, kind)
    if kind is None:
        assert isinstance(body, list), f"progress answer is {type(body).__name__}, not an array"
        for row in body:
            assert isinstance(row, dict) and isinstance(row.get("created_at"), str), row
    return body


@requirement("FBK-02", "ACS-06")
def test_fallback_query_answers_probe_events(hub: HubSession) -> None:
    rows = _progress(hub, event_type=PROBE, limit=20)
    assert len(rows) <= 20
    assert {row["event_type"] for row in rows} <= {PROBE}, "event_type filter ignored"


@requirement("FBK-02")
@pytest.mark.parametrize("event_type", [None, PROBE], ids=["all", "probe"])
def test_progress_is_newest_first_and_limited(hub: HubSession, event_type: str | None) -> None:
    query = {"event_type": event_type} if event_type else {}
    kind = "progress" if event_type == PROBE else None
    rows = _progress(hub, kind=kind, limit=500, **query)
    stamps = [row["created_at"] for row in rows]
    assert stamps == sorted(stamps, reverse=True), "not newest first"
    if len(rows) >= 2:
        assert len(_progress(hub, kind=kind, limit=1, **query)) == 1, "limit ignored"


@requirement("FBK-02")
@pytest.mark.assumption("ASM-15")
@pytest.mark.parametrize("limit", ["0", "501", "ten"])
def test_out_of_range_limit_is_refused(hub: HubSession, limit: str) -> None:
    base = hub.assumptions.get("state_hub.url")
    if hub.mode == "live" and not base:
        unverifiable("no State Hub URL (set values.state_hub.url in --assumptions)")
    path = hub.assumptions.get("state_hub.path")
    url = f"{str(base).rstrip('/')}{path}" if base and hub.mode == "live" else path
    response = hub.get(url, params={"limit": limit}, key=None)
    # The source shows limit=20 only: the range 1..500 and refusing the rest are ASM-15's.
    expect_assumption("ASM-15", not response.is_success, expected=f"limit={limit} refused",
                      observed=response.status_code, detail=f"GET {path}")
    hub.expect_rejected(response, field="limit")


@requirement("ACS-08", "FBK-02", "SEC-01")
def test_probe_detail_is_compact_and_secret_free(hub: HubSession) -> None:
    rows = _progress(hub, event_type=PROBE, limit=20)
    secrets = [s for s in (hub.key, hub.unbound_key) if s]
    for row in rows:
        text = json.dumps(row)
        if any(contains_literal(text, s) for s in secrets):
            pytest.fail(f"progress {row.get('id')} carries the API key", pytrace=False)
        findings = scan_json(row.get("detail"))
        assert not findings, f"progress {row.get('id')} detail: " + \
            "; ".join(f"{f.pointer}: {f.kind}" for f in findings)
