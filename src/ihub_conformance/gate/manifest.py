"""Gate 2: the active ops-hub manifest declares what activity-core will send.

The four live event types (ASM-17: ops-access-path-checked is deferred, never
required), the widget types and policy scopes the mapping uses, and at least
one annotation category. The evidence names exactly what is missing.
"""

from __future__ import annotations

from typing import Any

from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext
from ihub_conformance.gate.model import CheckOutcome

DEFERRED_EVENT_TYPES = ("ops-access-path-checked",)


def fetch_manifest(ctx: GateContext) -> tuple[int, dict[str, Any] | None]:
    """GET the hub's active manifest; (status code, body or None). Cached on ctx.

    A hub without a manifest read (ASM-10) has the override file's stand_ins.manifest."""
    if not ctx.assumptions.has_endpoint("manifest"):
        ctx.manifest = ctx.assumptions.get("stand_ins.manifest")
        return (200 if ctx.manifest else 404), ctx.manifest
    path = ctx.api().path("manifest", slug=ctx.hub_slug)
    response = ctx.api().get(path)
    body = None
    if response.status_code == 200:
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
    ctx.manifest = body
    return response.status_code, body


def _names(manifest: dict[str, Any], key: str) -> list[str]:
    value = manifest.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def note_mapping_coverage(ctx: GateContext, out: CheckOutcome) -> None:
    """ACS-04 / VOC-11: what the mapping leaves out is reported, never failed (gates 2, 3)."""
    if ctx.mapping is None:
        return
    for pointer, reason in _deps.advisories("mapping", ctx.mapping.doc, ctx.config.contract):
        out.notes.append(f"mapping {ctx.mapping.source} #{pointer}: {reason}")


# long: one gate's checks in the order gate.md reports them; pieces would scatter it
def check_manifest(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome("2", details={"requirements": ["GATE-02", "ACS-04"]})
    if not ctx.authenticated:
        return out.block("OPS_HUB_KEY missing or not authenticating (see gate 4)")
    where = f"GET {ctx.api().path('manifest', slug=ctx.hub_slug)}"
    status, manifest = fetch_manifest(ctx)
    if manifest is None:
        out.fail(f"active {ctx.hub_slug} manifest", where, "200 with the manifest",
                 f"{status}" + (" (no active manifest)" if status == 404 else ""))
        return out.settle("", f"no active {ctx.hub_slug} manifest ({status})")
    for pointer, reason in _deps.violations("manifest", manifest, ctx.config.contract):
        out.fail("manifest breaks the contract schema", f"{where} #{pointer or '/'}",
                 "valid against manifest.schema.json", reason)
    if manifest.get("status") not in (None, "active"):
        out.fail("manifest status", f"{where} #/status", "active", repr(manifest.get("status")))

    event_types = _names(manifest, "eventTypes")
    required = list(ctx.assumptions.get("vocabulary.required_event_types"))
    missing: dict[str, Any] = {"eventTypes": [], "widgetTypes": [], "policyScopes": [],
                               "annotationCategories": False}
    wanted_events = required + [t for t in (ctx.mapping.event_types if ctx.mapping else [])
                                if t not in required]
    for name in wanted_events:
        why = "live first-slice event type" if name in required else "used by the mapping"
        if name in event_types:
            out.ok(f"event type {name} declared", f"{where} #/eventTypes", why, "declared")
        else:
            missing["eventTypes"].append(name)
            out.fail(f"event type {name} not declared", f"{where} #/eventTypes",
                     f"declared ({why})", "missing")
    for name in DEFERRED_EVENT_TYPES:
        state = "declared" if name in event_types else "not declared"
        out.notes.append(f"{name} is deferred (ASM-17): {state}; never required, its access-"
                         "path evidence stays on the State Hub fallback")

    categories = _names(manifest, "annotationCategories")
    if categories:
        out.ok("annotation category declared", f"{where} #/annotationCategories",
               ">= 1 category", ", ".join(categories))
        preferred = ctx.assumptions.get("vocabulary.annotation_category")
        if preferred not in categories:
            out.notes.append(f"annotation category {preferred!r} (ASM-16) is not among "
                             f"{categories}; any category satisfies gate 2")
    else:
        missing["annotationCategories"] = True
        out.fail("no annotation category declared", f"{where} #/annotationCategories",
                 ">= 1 category", "none")

    if ctx.mapping is None:
        out.notes.append("no widget mapping: widget types and policy scopes not checked")
    else:
        for key, label, used in (("widgetTypes", "widget type", ctx.mapping.widget_types),
                                 ("policyScopes", "policy scope", ctx.mapping.policy_scopes)):
            declared = _names(manifest, key)
            for name in used:
                if name in declared:
                    out.ok(f"{label} {name} declared", f"{where} #/{key}",
                           "declared (used by the mapping)", "declared")
                else:
                    missing[key].append(name)
                    out.fail(f"{label} {name} not declared", f"{where} #/{key}",
                             "declared (used by the mapping)", "missing")
    if ctx.mapping is not None:
        note_mapping_coverage(ctx, out)
    out.details["missing"] = missing
    out.settle("the manifest declares the live event types, the mapping's widget types and "
               "policy scopes, and an annotation category")
    if out.status == "pass" and ctx.mapping is None:
        out.block("no widget mapping: cannot tell which widget types and scopes are needed")
    return out
