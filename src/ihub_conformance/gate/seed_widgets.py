"""Gate 3: every widget the mapping names exists in the target, with its type and scope.

Widgets are found by paging through the whole widget list (client.list_all), so
a mapping that names a widget on page 7 is checked like one on page 1.
"""

from __future__ import annotations

from typing import Any

import httpx

from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext, describe_http_error
from ihub_conformance.gate.k8s import pointer_line
from ihub_conformance.gate.manifest import note_mapping_coverage
from ihub_conformance.gate.model import CheckOutcome


def mapping_where(ctx: GateContext, pointer: str) -> str:
    """`file:line #pointer` for a place in the mapping (line when it can be found)."""
    mapping = ctx.mapping
    if mapping is None:
        return pointer
    line = pointer_line(mapping.text, pointer, mapping.first_line)
    if mapping.file and line:
        return f"{mapping.file}:{line} #{pointer}"
    return f"{mapping.source} #{pointer}"


def resolve_widget(ref: Any, widgets: list[dict[str, Any]], hub_ids: dict[str, str],
                   ) -> tuple[list[dict[str, Any]], str]:
    """The widgets matching a mapping `widget` reference, and a label for it."""
    if not isinstance(ref, dict):
        return [], repr(ref)
    if isinstance(ref.get("id"), str):
        return [w for w in widgets if w.get("id") == ref["id"]], f"id {ref['id']}"
    hub, name = ref.get("hub"), ref.get("name")
    hub_id = hub_ids.get(hub) if isinstance(hub, str) else None
    label = f"{hub}/{name!r}"
    return [w for w in widgets if w.get("hubId") == hub_id and w.get("name") == name], label


def hub_ids(ctx: GateContext) -> dict[str, str]:
    if not ctx.assumptions.has_endpoint("hubs"):  # ASM-10: the override file names the id
        return {ctx.hub_slug: str(ctx.assumptions.get("stand_ins.hub_id"))}
    return {str(h.get("slug")): str(h.get("id")) for h in ctx.all_rows("hubs")}


def _note_precondition_widgets(ctx: GateContext, out: CheckOutcome,
                               widgets: list[dict[str, Any]]) -> None:
    """VOC-11: an event sent only after a widget of some type exists - does one exist?"""
    needs = _deps.vocabulary(ctx.config.contract).get("eventWidgetTypes", {})
    for event_type in sorted(set(ctx.mapping.event_types if ctx.mapping else ()) & set(needs)):
        present = [w for w in widgets if w.get("widgetType") in needs[event_type]]
        state = f"{len(present)} exist" if present else "none exists yet: do not send it yet"
        out.notes.append(f"{event_type} is sent only after a {' or '.join(needs[event_type])} "
                         f"widget exists (VOC-11): {state}")


def check_seed_widgets(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome("3", details={"requirements": ["GATE-03", "ACS-04", "VOC-11"]})
    if not ctx.authenticated:
        return out.block("OPS_HUB_KEY missing or not authenticating (see gate 4)")
    if ctx.mapping is None:
        return out.block("no widget mapping: pass --mapping FILE or set OPS_HUB_WIDGET_MAPPING")
    try:
        widgets = ctx.all_rows("widgets")
        hubs = hub_ids(ctx)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        out.fail("paging through the widget list", f"GET {ctx.api().path('widgets')}",
                 "every page 200 and decodable", describe_http_error(exc))
        return out.settle("")
    out.details["widgetsListed"] = len(widgets)
    missing: list[dict[str, Any]] = []
    for index, entry in enumerate(ctx.mapping.entries):
        ref = entry.get("widget")
        where = mapping_where(ctx, f"/mappings/{index}/widget")
        found, label = resolve_widget(ref, widgets, hubs)
        if isinstance(ref, dict) and "hub" in ref and ref.get("hub") not in hubs:
            out.fail(f"hub {ref.get('hub')!r} of widget {label}", where, "a hub of the target",
                     "no such hub")
            missing.append({"mapping": index, "widget": label})
            continue
        if not found:
            out.fail(f"widget {label} missing", where, "exists in the target",
                     f"not found among {len(widgets)} widgets")
            missing.append({"mapping": index, "widget": label})
            continue
        if len(found) > 1:
            out.fail(f"widget {label} ambiguous", where, "exactly one widget",
                     f"{len(found)} widgets: {', '.join(str(w.get('id')) for w in found[:5])}")
            continue
        widget = found[0]
        mismatches = [
            f"{field} {widget.get(field)!r} (mapping says {entry.get(field)!r})"
            for field in ("widgetType", "policyScope") if widget.get(field) != entry.get(field)
        ]
        if mismatches:
            out.fail(f"widget {label} does not match the mapping", where,
                     f"widgetType {entry.get('widgetType')!r}, policyScope "
                     f"{entry.get('policyScope')!r}", "; ".join(mismatches))
        else:
            out.ok(f"widget {label}", where, "exists with the mapped type and scope",
                   f"{widget.get('id')} {widget.get('widgetType')} {widget.get('policyScope')}")
    note_mapping_coverage(ctx, out)
    _note_precondition_widgets(ctx, out, widgets)
    out.details["missing"] = missing
    return out.settle(f"all {len(ctx.mapping.entries)} mapped widgets exist with matching type "
                      f"and scope ({len(widgets)} widgets paged)")
