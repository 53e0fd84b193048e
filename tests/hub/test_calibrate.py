"""calibrate discovers the dialect of hubs that honour the source in other conventions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from dialect_hub import HUB_ID, DialectHub
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.hub.calibration import calibrate, render_override, write_override
from ihub_conformance.hub.probe import Prober
from ihub_conformance.validation.rules import idempotency_key

RUN_ID = "calibrate-20260101-000000-000001"
# A canary key with characters every encoding spells differently.
KEY = 'canary-K3y/+"=\\calib'
TOKEN_DIALECT = dict(
    auth=("Authorization", "Token"), public_reads=True, page_param="page_number",
    size_param="per_page", first_page=0, shape="envelope", data_key="items", meta_key="meta",
    total_key="total", pages_key="pages", create_status=200, errors="string",
    rate_headers=("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"), openapi=False,
    validation=422, unknown_reference=400, bad_page="clamp", rows=25)
ARRAY_DIALECT = dict(
    auth=("X-API-Key", ""), page_param="p", size_param="limit", shape="array",
    total_header="X-Total-Count", errors="message", rate_headers=(), versions=False,
    hubs=False, consumer=False, unauthorized=403, media="accept", wrong_key=401,
    missing_field=422)


def _calibrate(hub: DialectHub, *, writes: bool = True, budget: int = 150):
    prober = Prober("http://hub.test", KEY, budget=budget,
                    transport=httpx.WSGITransport(app=hub))
    try:
        return calibrate(prober, load_assumptions("v1"), run_id=RUN_ID, allow_writes=writes,
                         event_key=lambda run, ctx, kind: idempotency_key(run, ctx, kind, ":"))
    finally:
        prober.close()


def test_token_dialect_is_discovered_with_its_evidence() -> None:
    cal = _calibrate(DialectHub(KEY, **TOKEN_DIALECT))
    found = {key: f.value for key, f in cal.found.items()}
    assert found["auth.header"] == "Authorization" and found["auth.scheme"] == "Token"
    assert found["auth.public_reads"] == ["event_types", "widget_types", "policy_scopes"]
    assert found["pagination.page_param"] == "page_number"
    assert found["pagination.size_param"] == "per_page"
    assert found["pagination.first_page"] == 0
    assert (found["pagination.data_key"], found["pagination.meta_key"]) == ("items", "meta")
    assert (found["pagination.total_key"], found["pagination.pages_key"]) == ("total", "pages")
    assert found["status.create_widget"] == 200 and found["status.create_event"] == 200
    assert (found["errors.shape"], found["errors.envelope_key"]) == ("string", "error")
    assert found["rate_limit.limit_header"] == "RateLimit-Limit"
    assert found["endpoints.openapi"] is False
    assert found["status.rejections.validation"] == 422
    assert found["status.rejections.unknown_reference"] == 400
    assert found["status.rejections.bad_page"] == "any"
    assert found["pagination.default_size"] == 5 and found["pagination.max_size"] == 20
    assert found["vocabulary.annotation_category"] == "evidence-notes"
    assert "per_page=2" in cal.found["pagination.size_param"].evidence
    # no widget shows an adapter spec: none is suggested, and none is invented (ASM-20)
    assert "widgets.adapter_spec_id" not in {**cal.found, **cal.undetermined}


def test_an_adapter_spec_id_shown_by_a_widget_is_suggested() -> None:
    hub = DialectHub(KEY, **TOKEN_DIALECT)
    spec = "00000000-0000-4000-8000-0000000000aa"
    hub.widgets[3]["adapterSpecId"] = spec
    cal = _calibrate(hub, writes=False)
    assert cal.found["widgets.adapter_spec_id"].value == spec
    assert hub.widgets[3]["id"] in cal.found["widgets.adapter_spec_id"].evidence


def test_array_dialect_without_introspection_reads() -> None:
    cal = _calibrate(DialectHub(KEY, **ARRAY_DIALECT))
    found = {key: f.value for key, f in cal.found.items()}
    assert (found["auth.header"], found["auth.scheme"]) == ("X-API-Key", "")
    assert found["status.rejections.unauthorized"] == [401, 403]
    assert found["status.rejections.validation"] == [400, 422]
    assert found["pagination.shape"] == "array"
    assert found["pagination.total_header"] == "X-Total-Count"
    assert (found["pagination.page_param"], found["pagination.size_param"]) == ("p", "limit")
    assert found["pagination.first_page"] == 1
    assert found["errors.shape"] == "message" and found["errors.message_key"] == "detail"
    assert found["errors.field_key"] == "param"
    assert found["rate_limit.limit_header"] is None
    assert found["endpoints.widget_versions"] is False
    assert found["endpoints.hubs"] is False and found["endpoints.consumer"] is False
    assert found["stand_ins.hub_id"] == HUB_ID
    assert found["status.rejections.unsupported_media_type"] == "any"
    assert "stand_ins.consumer" in cal.undetermined  # no read shows the binding
    assert not cal.complete


@pytest.mark.parametrize("dialect", [TOKEN_DIALECT, ARRAY_DIALECT], ids=["token", "array"])
def test_the_file_is_accepted_by_the_register_and_never_holds_the_key(
        tmp_path: Path, dialect: dict) -> None:
    cal = _calibrate(DialectHub(KEY, **dialect))
    out = tmp_path / "hub.yaml"
    write_override(render_override(cal, load_assumptions("v1")), out, key=KEY, contract="v1")
    loaded = load_assumptions("v1", out)
    for dotted, finding in cal.found.items():
        assert loaded.get(dotted) == finding.value, dotted
    text = out.read_text()
    for spelling in (KEY, json.dumps(KEY)[1:-1], quote(KEY, safe=""),
                     base64.b64encode(KEY.encode()).decode().rstrip("=")):
        assert spelling not in text
    assert "# GET /api/v2/widgets" in text  # evidence comments
    assert "Objects written (" in text and cal.run_id in text


def test_read_only_by_default_sends_no_write() -> None:
    hub = DialectHub(KEY, **TOKEN_DIALECT)
    cal = _calibrate(hub, writes=False)
    assert {method for method, _, _ in hub.requests} == {"GET"}
    assert cal.written == [] and "status.create_widget" in cal.undetermined
    assert "allow-writes" in cal.undetermined["status.create_widget"]


def test_writes_are_tagged_with_the_run_id_and_listed() -> None:
    hub = DialectHub(KEY, **TOKEN_DIALECT)
    cal = _calibrate(hub)
    posts = [r for r in hub.requests if r[0] == "POST"]
    assert 0 < len(posts) <= 8
    assert len(cal.written) == len(hub.events) + len(hub.widgets) - 25
    assert all(e["metadata"]["activity_core_run_id"] == cal.run_id for e in hub.events)
    assert all(e["metadata"]["idempotency_key"].startswith(f"{cal.run_id}:")
               for e in hub.events)
    assert any(cal.run_id in w["name"] for w in hub.widgets)


def test_the_request_budget_bounds_the_probe() -> None:
    hub = DialectHub(KEY, **TOKEN_DIALECT)
    cal = _calibrate(hub, budget=12)
    assert len(hub.requests) == 12 == cal.requests
    assert "(remaining probes)" in cal.undetermined and not cal.complete


def test_a_source_breaking_hub_is_not_calibrated_into_passing() -> None:
    """Values the source fixes are never written, so no file can excuse breaking them."""
    cal = _calibrate(DialectHub(KEY, **TOKEN_DIALECT))
    fixed = set(load_assumptions("v1").fixed)
    assert not fixed & set(cal.found)


def _contradiction(hub: DialectHub):
    from ihub_conformance.hub.calibration import register_contradiction

    return register_contradiction("http://hub.test", KEY, load_assumptions("v1"),
                                  transport=httpx.WSGITransport(app=hub))


def test_run_and_gate_hint_names_the_contradicted_assumption() -> None:
    assert _contradiction(DialectHub(KEY)) is None
    token = _contradiction(DialectHub(KEY, **TOKEN_DIALECT))
    assert token is not None and token.key_works_elsewhere
    assert "ASM-01" in token.line and "Token <key>" in token.line
    assert "ihub-conformance calibrate --target http://hub.test" in token.line
    array = _contradiction(DialectHub(KEY, shape="array"))
    assert array is not None and "ASM-03" in array.line and not array.key_works_elsewhere
    quiet = _contradiction(DialectHub(KEY, rate_headers=()))
    assert quiet is not None and "ASM-11" in quiet.line
    assert KEY not in token.line + array.line + quiet.line


def test_a_key_refused_everywhere_is_not_taken_elsewhere() -> None:
    hub = DialectHub("another-key-entirely")
    found = _contradiction(hub)
    assert found is not None and not found.key_works_elsewhere
    assert len(hub.requests) <= 9


def test_the_deadline_bounds_a_slow_hub() -> None:
    import time

    hub = DialectHub(KEY, **TOKEN_DIALECT)

    def slow(environ, start_response):
        time.sleep(0.05)
        return hub(environ, start_response)

    prober = Prober("http://hub.test", KEY, deadline=0.3, transport=httpx.WSGITransport(app=slow))
    started = time.monotonic()
    try:
        cal = calibrate(prober, load_assumptions("v1"), run_id=RUN_ID)
    finally:
        prober.close()
    assert time.monotonic() - started < 2
    assert "deadline" in cal.undetermined["(remaining probes)"]
