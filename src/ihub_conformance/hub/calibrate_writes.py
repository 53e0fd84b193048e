"""What only a write shows (``--allow-writes``): create statuses, rejection statuses,
the default widget status, the body cap. A handful of POSTs, each named or tagged with
the run id; every one the hub accepted is listed in ``Calibration.written``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ihub_conformance.hub.calibrate import EVENTS, NEEDS_WRITES, WIDGETS
from ihub_conformance.hub.probe import Calibration, Probe, Prober

WRITE_KEYS = ("status.create_widget", "status.create_event", "status.rejections.validation",
              "status.rejections.unknown_reference",
              "status.rejections.unsupported_media_type",
              "status.rejections.payload_too_large", "widgets.default_status",
              "limits.max_body_bytes")
FIRST_EVENT_TYPE = "ops-endpoint-verified"  # one of the four the source requires


def _note(cal: Calibration, kind: str, answer: Probe, name: str) -> None:
    if answer.ok():
        body = answer.body if isinstance(answer.body, dict) else {}
        cal.written.append({"kind": kind, "id": body.get("id"), "name": name,
                            "request": answer.shown, "status": answer.status})


def _event_body(cal: Calibration, widget_id: str, event_type: str,
                label: str) -> dict[str, Any]:
    run = cal.run_id
    context = f"ihub-conformance-calibrate-{label}"
    attributes: dict[str, Any] = {"observed_at": datetime.now(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")}
    return {"widgetId": widget_id, "eventType": event_type, "metadata": {
        "activity_core_run_id": run, "context_key": context,
        "idempotency_key": cal.event_key(run, context, event_type) if cal.event_key
        else None, "attributes": attributes}}


def create_widget(prober: Prober, cal: Calibration, hub_id: str,
                  widget_type: str) -> str | None:
    """One widget of this run, without a status (its answer shows the default)."""
    name = f"ihub-conformance-calibrate-{cal.run_id}"
    answer = prober.send("POST", WIDGETS, json={"hubId": hub_id, "name": name,
                                                "widgetType": widget_type})
    _note(cal, "widget", answer, name)
    if not answer.ok():
        cal.unknown("status.create_widget", f"{answer}: the widget was refused "
                    f"({answer.text[:120]!r})")
        return None
    cal.set("status.create_widget", answer.status, f"{answer}: widget created")
    body = answer.body if isinstance(answer.body, dict) else {}
    if isinstance(body.get("status"), str):
        cal.set("widgets.default_status", body["status"],
                f"{answer}: created without `status`, answered `status` = {body['status']!r}")
    else:
        cal.unknown("widgets.default_status", f"{answer}: no `status` in the answer")
    return body.get("id") if isinstance(body.get("id"), str) else None


def probe_event_writes(prober: Prober, cal: Calibration, widget_id: str,
                       event_type: str) -> list[Probe]:
    """Create one event; then the rejections: unregistered type, malformed JSON, a
    non-JSON content type, an oversized body. Returns the rejections seen."""
    good = prober.send("POST", EVENTS, json=_event_body(cal, widget_id, event_type, "ok"))
    _note(cal, "interaction-event", good, "calibrate ok")
    if good.ok():
        cal.set("status.create_event", good.status, f"{good}: event created")
    else:
        cal.unknown("status.create_event", f"{good}: a declared event type was refused")
    seen = []
    unknown_type = f"ihub-calibrate-unregistered-{cal.run_id.lower()}"
    cases = (
        ("status.rejections.unknown_reference", "unregistered event type",
         {"json": _event_body(cal, widget_id, unknown_type, "unknown-type")}),
        ("status.rejections.validation", "malformed JSON",
         {"content": b'{"widgetId": ', "headers": {"Content-Type": "application/json"}}),
        ("status.rejections.unsupported_media_type", "a JSON body sent as text/plain",
         {"content": json.dumps(_event_body(cal, widget_id, event_type, "text")).encode(),
          "headers": {"Content-Type": "text/plain"}}),
    )
    for key, what, kwargs in cases:
        answer = prober.send("POST", EVENTS, **kwargs)
        _note(cal, "interaction-event", answer, f"calibrate {what}")
        if answer.rejected():
            cal.set(key, answer.status, f"{answer}: {what}")
            seen.append(answer)
            if key.endswith(".validation"):
                seen += _missing_field(prober, cal, event_type, answer)
        elif answer.ok() and key.endswith("unsupported_media_type"):
            cal.set(key, "any", f"{answer}: {what} was accepted")
        else:
            cal.unknown(key, f"{answer}: {what} was not refused")
    seen += probe_body_cap(prober, cal, widget_id, event_type)
    return seen


def _missing_field(prober: Prober, cal: Calibration, event_type: str,
                   malformed: Probe) -> list[Probe]:
    """A well-formed body missing `widgetId`: the same validation status, or both."""
    answer = prober.send("POST", EVENTS, json={"eventType": event_type})
    _note(cal, "interaction-event", answer, "calibrate missing widgetId")
    if answer.rejected() and answer.status != malformed.status:
        cal.set("status.rejections.validation", sorted({malformed.status, answer.status}),
                f"{malformed}: malformed JSON; {answer}: `widgetId` missing")
    return [answer] if answer.rejected() else []


def probe_body_cap(prober: Prober, cal: Calibration, widget_id: str,
                   event_type: str, default_cap: int = 65536) -> list[Probe]:
    """Whether the register's cap holds: a body just over it refused, one under accepted."""
    def send(size: int, label: str) -> Probe:
        # Trailing whitespace pads the body and keeps it the same valid JSON document.
        body = json.dumps(_event_body(cal, widget_id, event_type, label)).encode()
        answer = prober.send("POST", EVENTS, content=body + b" " * max(size - len(body), 0),
                             headers={"Content-Type": "application/json"})
        _note(cal, "interaction-event", answer, f"calibrate {label}")
        return answer

    over = send(default_cap + 64, "over-cap")
    if over.rejected():
        cal.set("status.rejections.payload_too_large", over.status,
                f"{over}: a {default_cap + 64}-byte body")
        under = send(default_cap - 256, "under-cap")
        if under.ok():
            cal.set("limits.max_body_bytes", default_cap,
                    f"{over}; {under}: a {default_cap - 256}-byte body accepted")
        else:
            cal.unknown("limits.max_body_bytes", f"{under}: a body under {default_cap} "
                        "bytes refused too; the cap is lower")
        return [over]
    big = send(1_100_000, "far-over-cap")
    if big.rejected():
        cal.set("status.rejections.payload_too_large", big.status, f"{big}: 1.1 MB body")
        cal.unknown("limits.max_body_bytes", f"{over} accepted, {big} refused: the cap "
                    f"lies between {default_cap} and 1100000 bytes")
    elif big.ok():
        cal.set("limits.max_body_bytes", None, f"{over} and {big}: no cap up to 1.1 MB")
        cal.set("status.rejections.payload_too_large", "any", f"{big}: never refused")
    return [big]


def explain_no_writes(cal: Calibration) -> None:
    for key in WRITE_KEYS:
        cal.unknown(key, NEEDS_WRITES)
