"""Vocabulary drift: the live registries and manifest against the contract's vocabulary.

Lists renamed names (an early-proposal name and its live successor, and which
of the two the target has), missing names (in the contract, not live) and
extra names (live, not in the contract). Missing names, and early names still
declared by the manifest, fail the check; registry extras are informational.
"""

from __future__ import annotations

from typing import Any

import httpx

from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext, describe_http_error
from ihub_conformance.gate.model import DRIFT, CheckOutcome

# contract vocabulary key -> (registry list name, manifest key)
KINDS = {
    "eventTypes": ("event_types", "eventTypes"),
    "widgetTypes": ("widget_types", "widgetTypes"),
    "policyScopes": ("policy_scopes", "policyScopes"),
}


def _names(rows: Any) -> list[str]:
    return [str(r) for r in rows] if isinstance(rows, list) else []


# long: one gate's checks in the order gate.md reports them; pieces would scatter it
def check_vocabulary_drift(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome(DRIFT, details={"requirements": ["VOC-01", "VOC-02", "VOC-03", "VOC-04",
                                                       "VOC-05", "VOC-06", "VOC-07"]})
    if not ctx.authenticated:
        return out.block("OPS_HUB_KEY missing or not authenticating (see gate 4)")
    vocab = _deps.vocabulary(ctx.config.contract)
    manifest = ctx.manifest or {}
    if not ctx.manifest:
        out.notes.append("no active manifest: compared against the registries only")
    try:
        registry = {kind: [str(r.get("name")) for r in ctx.all_rows(list_name)]
                    for kind, (list_name, _) in KINDS.items()}
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        out.fail("registry reads", "GET /api/v2/*-types, /policy-scopes", "200 pages",
                 describe_http_error(exc))
        return out.settle("")
    aliases: dict[str, str] = dict(vocab.get("aliases") or {})
    deferred = set(_names(vocab.get("deferred")))
    not_seeded = set(_names((vocab.get("notSeeded") or {}).get("policyScopes")))
    renamed: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    extra: list[dict[str, str]] = []
    for kind, (list_name, manifest_key) in KINDS.items():
        contract = _names(vocab.get(kind))
        declared = _names(manifest.get(manifest_key))
        live = set(registry[kind]) | set(declared)
        for early, successor in aliases.items():
            if successor not in contract:
                continue
            renamed.append({"kind": kind, "early": early, "live": successor,
                            "livePresent": successor in live,
                            "earlyRegistered": early in registry[kind],
                            "earlyDeclared": early in declared})
            if early in declared:
                out.fail(f"early name {early} still declared", f"manifest #/{manifest_key}",
                         f"the live name {successor}", early)
        for name in contract:
            places = [p for p, names in (("registry", registry[kind]),
                                         ("manifest", declared if ctx.manifest else None))
                      if names is not None and name not in names]
            for place in places:
                missing.append({"kind": kind, "name": name, "where": place})
                if place == "manifest" and kind != "eventTypes":
                    # a manifest declares "the selected widget types" and "the policy scope"
                    # (GATE-02); ops-risk only "when needed" (VOC-12): not drift
                    out.notes.append(f"{kind[:-1]} {name} not selected by the manifest")
                    continue
                out.fail(f"{kind[:-1]} {name} missing from the live {place}",
                         f"GET /api/v2/{list_name.replace('_', '-')}" if place == "registry"
                         else "manifest", "present (contract vocabulary)", "absent")
        for place, names in (("registry", registry[kind]), ("manifest", declared)):
            for name in names:
                if name in contract or name in aliases:
                    continue
                note = "deferred" if name in deferred else (
                    "not to be seeded" if name in not_seeded else "not in the contract")
                extra.append({"kind": kind, "name": name, "where": place, "note": note})
                # seeded without the explicit manifest expansion VOC-14 allows
                if place == "registry" and name in not_seeded and name not in declared:
                    out.fail(f"policy scope {name} is seeded", "registry",
                             "not seeded (use a declared scope)", "present")
    contract_categories = _names(vocab.get("annotationCategories"))
    for name in contract_categories:
        if ctx.manifest and name not in _names(manifest.get("annotationCategories")):
            missing.append({"kind": "annotationCategories", "name": name, "where": "manifest"})
            out.fail(f"annotation category {name} missing from the manifest",
                     "manifest #/annotationCategories", "present (contract vocabulary)", "absent")
    out.details.update(renamed=renamed, missing=missing, extra=extra)
    for item in renamed:
        out.ok(f"renamed {item['early']} -> {item['live']}", item["kind"],
               "live name present", "present" if item["livePresent"] else "absent")
    out.notes.append(f"{len(renamed)} renamed, {len(missing)} missing, {len(extra)} extra "
                     "(extras are informational)")
    return out.settle("the live vocabulary carries every contract name; no early name is "
                      "declared")
