"""Gate 6: a controlled smoke against the hub (writes; only with --allow-writes).

One event per event type the manifest declares is posted to a fresh widget
tagged with the run id, must be accepted (201) and then be visible in the list
filtered by widgetId + eventType with actorType "api". Every event type that is
registered but not declared must be rejected (4xx) and must not be stored.
Every write carries the run id (metadata.activity_core_run_id, widget name
prefix) and is counted in the report.

The smoke uses its own widget rather than the mapped production widgets, so
no smoke event lands on a widget activity-core reports to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from ihub_conformance.contract.assumptions import describe_status
from ihub_conformance.gate import _deps
from ihub_conformance.gate.api_health import create_widget
from ihub_conformance.gate.context import GateContext, describe_http_error
from ihub_conformance.gate.model import CheckOutcome
from ihub_conformance.validation.rules import idempotency_key

CONTEXT_KEY = "ihub-conformance/gate-smoke"
MAX_UNDECLARED = 10  # rejected attempts per run, a bound on writes to a live hub


def event_body(ctx: GateContext, widget_id: str, event_type: str) -> dict[str, Any]:
    """The strict activity-core payload (contract v1), tagged with the run id."""
    sep = ctx.assumptions.get("idempotency.separator")
    return {
        "widgetId": widget_id,
        "eventType": event_type,
        "viewContext": f"ihub-conformance-gate/{ctx.run_id}",
        "metadata": {
            "activity_core_run_id": ctx.run_id,
            "context_key": CONTEXT_KEY,
            "idempotency_key": idempotency_key(ctx.run_id, CONTEXT_KEY, event_type, sep),
            "attributes": {"observed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        },
    }


def _rejected(ctx: GateContext, status: int) -> bool:
    # The source requires a rejection; which 4xx is the register's guess (ASM-05).
    return 400 <= status < 500


def _stored(ctx: GateContext, widget_id: str, event_type: str) -> list[dict[str, Any]]:
    """Rows for the widget and type, re-filtered here in case the hub ignores a filter."""
    rows = ctx.api().list_all("interaction_events",
                              params={"widgetId": widget_id, "eventType": event_type})
    return [r for r in rows if r.get("widgetId") == widget_id and r.get("eventType") == event_type]


def _accept(ctx: GateContext, out: CheckOutcome, widget_id: str, event_type: str) -> None:
    path = ctx.api().path("interaction_events")
    response = ctx.api().post(path, json=event_body(ctx, widget_id, event_type))
    if not ctx.assumptions.success_ok("create_event", response.status_code):
        spec = describe_status(ctx.assumptions.get("status.create_event"))
        out.fail(f"declared event type {event_type} not accepted", f"POST {path}", spec,
                 str(response.status_code))
        return
    created = response.json()
    event_id = created.get("id") if isinstance(created, dict) else None
    if isinstance(event_id, str):
        ctx.writes.events.append(event_id)
    listed = f"GET {path}?widgetId=...&eventType={event_type}"
    rows = ctx.api().list_all("interaction_events",
                              params={"widgetId": widget_id, "eventType": event_type})
    rows = list(rows)
    stray = [r for r in rows if r.get("widgetId") != widget_id or r.get("eventType") != event_type]
    mine = [r for r in rows if r.get("id") == event_id]
    if stray:
        out.fail("list filter widgetId+eventType not applied", listed,
                 "only rows of this widget and type", f"{len(stray)} other rows")
    if not mine:
        out.fail(f"accepted {event_type} event not visible", listed, f"event {event_id} listed",
                 f"{len(rows)} rows, not it")
        return
    row = mine[0]
    actor = row.get("actorType")
    run = (row.get("metadata") or {}).get("activity_core_run_id") \
        if isinstance(row.get("metadata"), dict) else None
    if actor != "api":
        out.fail(f"{event_type} event actorType", listed, '"api"', repr(actor))
    elif run != ctx.run_id:
        out.fail(f"{event_type} event lost its run id", listed,
                 f"metadata.activity_core_run_id {ctx.run_id}", repr(run))
    else:
        out.ok(f"declared {event_type} accepted and listed", listed,
               '201, then listed with actorType "api"', f"201 id {event_id}")


def _reject(ctx: GateContext, out: CheckOutcome, widget_id: str, event_type: str,
            why: str) -> None:
    path = ctx.api().path("interaction_events")
    response = ctx.api().post(path, json=event_body(ctx, widget_id, event_type))
    ctx.writes.rejected.append(event_type)
    if 200 <= response.status_code < 300:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            ctx.writes.stored_by_mistake.append(body["id"])
    stored = _stored(ctx, widget_id, event_type)
    if not _rejected(ctx, response.status_code):
        out.fail(f"{why} event type {event_type} accepted", f"POST {path}",
                 "a 4xx rejection", str(response.status_code))
    elif stored:
        out.fail(f"rejected {event_type} event was stored anyway",
                 f"GET {path}?widgetId=...&eventType={event_type}", "no row",
                 f"{len(stored)} rows")
    else:
        out.ok(f"{why} event type {event_type} rejected", f"POST {path}",
               "4xx and not stored", f"{response.status_code}, not stored")


def undeclared_types(ctx: GateContext, declared: list[str]) -> tuple[list[str], str]:
    """Registered-but-undeclared types; else one unregistered name (and say which)."""
    registry = [str(r.get("name")) for r in ctx.all_rows("event_types")]
    # never a deferred type: the gate must not write access-path evidence to a hub (FBK-04)
    deferred = set(_deps.vocabulary(ctx.config.contract).get("deferred", ()))
    names = [n for n in registry if n not in declared and n not in deferred]
    if names:
        return names[:MAX_UNDECLARED], "undeclared"
    return [f"ihub-gate-undeclared-{ctx.run_id}"], "unregistered"


def check_smoke(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome("6", details={"requirements": ["GATE-06"]})
    if not ctx.allow_writes:
        return out.block("read-only run: the smoke writes events; pass --allow-writes "
                         "(a skipped smoke is not a pass)")
    if not ctx.authenticated:
        return out.block("OPS_HUB_KEY missing or not authenticating (see gate 4)")
    if ctx.manifest is None:
        return out.block("no active manifest (see gate 2): the declared event types are unknown")
    declared = [t for t in ctx.manifest.get("eventTypes") or [] if isinstance(t, str)]
    if not declared:
        return out.block("the manifest declares no event type (see gate 2)")
    try:
        widget = create_widget(ctx, out, "gate-6 smoke")
        if widget is None:
            return out.settle("", "the smoke widget could not be created")
        for event_type in declared:
            _accept(ctx, out, widget["id"], event_type)
        undeclared, why = undeclared_types(ctx, declared)
        if why == "unregistered":
            out.notes.append("every registered event type is declared: an unregistered name "
                             "was used to check rejection instead")
        for event_type in undeclared:
            _reject(ctx, out, widget["id"], event_type, why)
    except (httpx.HTTPError, ValueError) as exc:
        out.fail("smoke request failed", ctx.api().path("interaction_events"),
                 "answers that decode", describe_http_error(exc))
    out.details["writes"] = ctx.writes.to_json()
    return out.settle(f"{len(declared)} declared event types accepted and listed with actorType "
                      f'"api"; {len(ctx.writes.rejected)} undeclared rejected and not stored')
