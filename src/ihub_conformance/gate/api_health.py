"""Gate 1: the COUNT(*) decoding fix is deployed.

Widget creation (when writes are allowed) and the authenticated reads - each of which
makes the hub read its rate-limit counters - must succeed and decode: integers where
counts are, no 5xx. Rate-limit response headers are the register's guess (ASM-11):
reported in a note when they differ, never failed.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from ihub_conformance.contract import dialect
from ihub_conformance.contract.assumptions import describe_status
from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext
from ihub_conformance.gate.model import CheckOutcome
from ihub_conformance.hub.policy import DryRunWrite

_INTEGER = re.compile(r"^\d+$")
_LISTS = ("widgets", "interaction_events")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rate_limit_headers(ctx: GateContext, out: CheckOutcome, response: httpx.Response,
                        where: str) -> None:
    """Report the register's rate-limit headers; never gate 1's verdict (GATE-01 note).

    "API rate-limit reads" is the hub reading its own counters: a decoding error there
    answers a server error, which the reads and writes of gate 1 already fail on. The
    header names and their format are a register guess (ASM-11).
    """
    rate = ctx.assumptions.values.get("rate_limit") or {}
    odd = []
    for key in ("limit_header", "remaining_header", "reset_header"):
        header = rate.get(key)
        if not header:
            continue  # the register says this hub sends no such header
        value = response.headers.get(header)
        if value is not None and _INTEGER.match(value.strip()):
            out.ok(f"{header} header", where, "a decimal integer (ASM-11)", value.strip())
        else:
            odd.append(f"{header} {'absent' if value is None else repr(value[:40])}")
    if odd:
        out.notes.append(f"{where}: rate-limit headers differ from the register (ASM-11: "
                         f"{'; '.join(odd)}); not a gate 1 defect - the source names no "
                         "header; calibrate the register for this hub")


def _list_page(ctx: GateContext, out: CheckOutcome, name: str) -> None:
    client = ctx.api()
    where = f"GET {client.path(name)}"
    response = client.page(name, size=ctx.assumptions.get("pagination.default_size"))
    if response.status_code >= 500:
        out.fail("list read answered a server error", where, "200", str(response.status_code))
        return
    if response.status_code != 200:
        out.fail("list read refused", where, "200", str(response.status_code))
        return
    try:
        view = dialect.read_page(ctx.assumptions, response.json(), response.headers)
    except ValueError as exc:  # not JSON, or a page of another shape (DialectMismatch)
        out.fail("list page does not decode (ASM-03; calibrate the register)", where,
                 "a list page in the register's dialect", str(exc)[:200])
        return
    pag = ctx.assumptions.values["pagination"]
    names = (pag["page_key"] or "page", pag["size_key"] or "page size",
             pag["total_key"] or pag["total_header"] or "total",
             pag["pages_key"] or pag["pages_header"] or "pages")
    counts = {k: v for k, v in zip(names, (view.page, view.size, view.total, view.pages),
                                   strict=True) if v is not None}
    bad = {k: v for k, v in counts.items() if not _is_int(v)}
    if bad:
        out.fail("pagination counts do not decode as integers", where, "integers",
                 ", ".join(f"{k}={v!r}" for k, v in bad.items()))
    elif counts:
        out.ok("pagination counts are integers", where, "integers",
               ", ".join(f"{k}={v}" for k, v in counts.items()))
    else:
        out.ok("list page decodes (the dialect reports no counts)", where, "a list page",
               f"{len(view.rows)} rows")
    _rate_limit_headers(ctx, out, response, where)


def probe_widget_body(ctx: GateContext, purpose: str) -> dict[str, Any]:
    """A widget tagged with the run id (name prefix), typed from the mapping/manifest."""
    manifest = ctx.manifest or {}
    types = (ctx.mapping.widget_types if ctx.mapping else []) or manifest.get("widgetTypes") or []
    scopes = (ctx.mapping.policy_scopes if ctx.mapping else []) or manifest.get(
        "policyScopes") or []
    widget_type = "ops-readiness-gate" if "ops-readiness-gate" in types else (
        types[0] if types else "ops-readiness-gate")
    scope = "ops-production" if "ops-production" in scopes else (
        scopes[0] if scopes else "ops-production")
    return {
        "hubId": (ctx.consumer or {}).get("hubId"),
        "name": f"ihub-gate {ctx.run_id} {purpose}",
        "widgetType": widget_type,
        "policyScope": scope,
        "capabilityRef": f"ihub-conformance-gate/{ctx.run_id}",
        "status": "draft",
    }


def create_widget(ctx: GateContext, out: CheckOutcome, purpose: str, *,
                  rate_limit: bool = False) -> dict[str, Any] | None:
    """POST one run-tagged widget; record it; evidence on `out`. None if not created."""
    client = ctx.api()
    path = client.path("widgets")
    where = f"POST {path}"
    body = probe_widget_body(ctx, purpose)
    response = client.post(path, json=body)
    expected = describe_status(ctx.assumptions.get("status.create_widget"))  # ASM-06
    if ctx.assumptions.success_ok("create_widget", response.status_code):
        try:
            created = response.json()
        except ValueError:
            created = None
        if isinstance(created, dict) and isinstance(created.get("id"), str):
            ctx.writes.widgets.append(created["id"])
            out.ok(f"widget creation ({purpose})", where, f"{expected} with the widget",
                   f"{response.status_code} id {created['id']}")
            for pointer, reason in _deps.violations("widget-resource", created,
                                                    ctx.config.contract):
                out.fail(f"created widget ({purpose}) does not decode as a Widget",
                         f"{where} #{pointer or '/'}", "valid against widget.schema.json",
                         reason)
            if rate_limit:  # gate 1's concern only
                _rate_limit_headers(ctx, out, response, where)
            return created
        out.fail(f"widget creation ({purpose}) answer does not decode", where,
                 f"{expected} with the widget resource",
                 f"{response.status_code} without a widget id")
        return None
    out.fail(f"widget creation ({purpose})", where, expected,
             f"{response.status_code} {_error_code(response)}".strip())
    return None


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code', '')} {error.get('field') or ''}".strip()
    return ""


def _create_and_read_back(ctx: GateContext, out: CheckOutcome) -> None:
    widget = create_widget(ctx, out, "gate-1 probe", rate_limit=True)
    if widget is not None and ctx.assumptions.serves("widget"):
        # the created widget must decode from a single read as well (where the hub
        # has one, ASM-08; the list reads below cover a hub without it)
        path = ctx.api().path("widget", id=widget["id"])
        read = ctx.api().get(path)
        if read.status_code != 200:
            out.fail("created widget read back", f"GET {path}", "200", str(read.status_code))


def check_api_health(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome("1", details={"requirements": ["GATE-01"]})
    if not ctx.authenticated:
        return out.block("OPS_HUB_KEY missing or not authenticating (see gate 4)")
    if ctx.allow_writes:
        try:
            _create_and_read_back(ctx, out)
        except DryRunWrite as planned:  # the reads below still run
            out.notes.append(f"dry run: {planned.method} {planned.path} not sent; widget "
                             "creation not exercised")
    else:
        out.notes.append("read-only run: widget creation not exercised; "
                         "only the list and rate-limit reads were checked")
    for name in _LISTS:
        _list_page(ctx, out, name)
    mode = "creation, list and rate-limit reads" if ctx.allow_writes else \
        "list and rate-limit reads (read-only run)"
    return out.settle(f"{mode} succeed and decode with integer counts; no 5xx")
