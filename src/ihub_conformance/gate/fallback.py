"""The State Hub fallback: is there closure evidence, and is it compact and secret-free?

Reported beside the gates so the open question (close ACTIVITY-WP-0007/T06 on
a fallback event with explicit Inter-Hub deferral, or only after real
submission) is decided on evidence.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ihub_conformance.errors import TargetUnreachable
from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext
from ihub_conformance.gate.model import FALLBACK, CheckOutcome
from ihub_conformance.hub.client import InterHubClient, redact_url

EVENT_TYPE = "ops_inventory_probe"
LIMIT = 20
DEFERRED = "ops-access-path-checked"  # stays on the fallback path (FBK-04)
STATE_HUB_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def decision(status: str, events: int, gates_pass: bool) -> str:
    """The evidence for both answers to the open T06 question; it decides neither."""
    fallback = {
        "pass": f"{events} compact, secret-free {EVENT_TYPE} event(s) on the State Hub",
        "blocked": "not queried (no --state-hub URL)",
    }.get(status, f"no acceptable {EVENT_TYPE} event on the State Hub")
    submission = ("every required gate passes" if gates_pass
                  else "a required gate does not pass")
    return ("Open question, not decided here (close ACTIVITY-WP-0007/T06 on the State Hub "
            f"fallback, or only after real Inter-Hub submission?). Fallback evidence: {fallback}. "
            f"Real-submission readiness: {submission}; the smoke's own events are gate probes, "
            "not activity-core submissions.")


def check_fallback(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome(FALLBACK, details={"requirements": ["FBK-01", "FBK-02", "FBK-03",
                                                           "FBK-04", "ACS-05", "ACS-06"]})
    base = ctx.state_hub_url
    if not base:
        return out.block("no State Hub URL: pass --state-hub URL (or set "
                         "state_hub.url in the assumptions)")
    path = str(ctx.assumptions.get("state_hub.path"))
    url = base.rstrip("/") + path
    where = f"GET {redact_url(url)}?event_type={EVENT_TYPE}&limit={LIMIT}"
    out.details["stateHub"] = redact_url(base)
    try:  # another service, the same request policy: counted, rate-limited, budgeted
        with InterHubClient(base, None, ctx.assumptions, timeout=STATE_HUB_TIMEOUT,
                            policy=ctx.policy) as state_hub:
            response = state_hub.get(path, params={"event_type": EVENT_TYPE, "limit": LIMIT})
    except (httpx.HTTPError, TargetUnreachable) as exc:
        cause = str(exc).rsplit(": ", 1)[-1] if isinstance(exc, TargetUnreachable) \
            else type(exc).__name__  # ConnectError, ReadTimeout, ...
        out.fail("State Hub progress query not answered", where, "200 with a JSON array", cause)
        return out.settle("")
    try:
        events = response.json() if response.status_code == 200 else None
    except ValueError:
        events = None
    if not isinstance(events, list):
        out.fail("State Hub progress query", where, "200 with a JSON array",
                 f"{response.status_code}" + (" (not an array)" if events is not None else ""))
        return out.settle("")
    # the contract also checks each idempotency key (<run>:<context>:<type>), duplicates
    # (the sink is idempotent: one event per key) and the newest-first order
    for pointer, reason in _deps.violations("progress", events, ctx.config.contract):
        out.fail("progress answer breaks the contract", f"{where} #{pointer or '/'}",
                 "valid against state-hub-progress.schema.json", reason)
    probes = [e for e in events if isinstance(e, dict) and e.get("event_type") == EVENT_TYPE]
    out.details["closureEvidence"] = bool(probes)
    out.details["events"] = len(probes)
    if not probes:
        out.fail("no closure evidence", where, f">= 1 {EVENT_TYPE} event", "an empty list")
    for index, event in enumerate(probes):
        _check_event(ctx, out, event, f"{where} #/{index}/detail")
    covered = sorted({str(e["detail"].get("activity_core_event_type")) for e in probes
                      if isinstance(e.get("detail"), dict)
                      and e["detail"].get("activity_core_event_type")})
    out.details["coveredEventTypes"] = covered
    if probes:
        state = "present" if DEFERRED in covered else "absent"
        out.notes.append(f"fallback evidence covers {', '.join(covered) or 'no named type'}; "
                         f"access-path evidence ({DEFERRED}, deferred) is {state} on this path")
    _note_sink_states(ctx, out, probes)
    out.settle(f"{len(probes)} {EVENT_TYPE} event(s): compact and free of secrets")
    return out


def _note_sink_states(ctx: GateContext, out: CheckOutcome, probes: list[dict[str, Any]]) -> None:
    """ACS-09 beside gate 5: until real submission the sink says missing_inter_hub_config
    (no Inter-Hub config) or inter_hub_sink_deferred (configured, not submitting yet)."""
    states = sorted({str(p["detail"].get("inter_hub_sink")) for p in probes
                     if isinstance(p.get("detail"), dict)})
    if not states:
        return
    expected = {"pass": "inter_hub_sink_deferred", "fail": "missing_inter_hub_config"}.get(
        ctx.runtime_config_status or "")
    line = f"inter_hub_sink on the fallback rows: {', '.join(states)} (ACS-09, temporary)"
    if expected and states != [expected]:
        line += (f"; gate 5 is {ctx.runtime_config_status}, so new rows should say {expected}"
                 " - older rows may predate the runtime config")
    out.notes.append(line)


def _check_event(ctx: GateContext, out: CheckOutcome, event: dict[str, Any], where: str) -> None:
    detail = event.get("detail")
    text = json.dumps(detail, sort_keys=True, default=str)
    # "compact" is the schema's x-maxBytes: an oversized detail is already a contract
    # violation above (the engine reads the same bound); here it only names the evidence
    bound, size_of = _deps.probe_detail_bound(ctx.config.contract)
    size = size_of(detail)
    bad = bound is not None and size > bound
    if ctx.key and _deps.contains_literal(text, ctx.key):
        out.fail(f"detail holds the {ctx.config.key_env} value", where, "no secret",
                 _deps.redact(ctx.key))
        bad = True
    # scan_json flags raw bodies/headers/credential keys, URL query strings and tokens
    for finding in _deps.scan_json(detail):
        out.fail(f"detail carries secret-like or raw material ({finding.kind})",
                 f"{where}{getattr(finding, 'pointer', '') or ''}", "no secret",
                 str(finding.preview))
        bad = True
    if not bad:
        out.ok("compact, secret-free detail", where, f"<= {bound} bytes, no secret",
               f"{size} bytes, run {event.get('activity_core_run_id')}")
