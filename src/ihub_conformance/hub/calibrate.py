"""Discover a live hub's dialect: every convention the source leaves open.

``calibrate(...)`` probes a hub with bounded, read-only requests (a handful of
run-tagged writes only with ``allow_writes``) and returns a :class:`Calibration`:
each register value it determined, with the evidence; what it could not, with
the reason. Nothing here decides what the source requires: only which of the
register's open choices (contracts/v1/assumptions.yaml) this hub made.
"""

from __future__ import annotations

import uuid
from typing import Any

from ihub_conformance.contract.assumptions import Assumptions
from ihub_conformance.hub.client import WRONG_KEY
from ihub_conformance.hub.probe import Calibration, Probe, Prober

WIDGETS = "/api/v2/widgets"  # fixed by the source
EVENTS = "/api/v2/interaction-events"  # fixed by the source
AUTH_CANDIDATES = (("Authorization", "Bearer"), ("Authorization", "Token"),
                   ("Authorization", ""), ("X-API-Key", ""), ("X-Auth-Token", ""),
                   ("Api-Key", ""), ("X-Api-Token", ""), ("X-Hub-Key", ""))
SIZE_PARAMS = ("pageSize", "page_size", "per_page", "perPage", "limit", "size",
               "pagesize", "page[size]")
PAGE_PARAMS = ("page", "pageNumber", "page_number", "pageNo", "p", "pageIndex", "page[number]")
DATA_KEYS = ("data", "items", "results", "rows", "records", "entries", "widgets", "events")
META_KEYS = ("pagination", "meta", "page_info", "pageInfo", "paging", "_meta")
TOTAL_KEYS = ("totalCount", "total_count", "total", "totalItems", "total_items", "count",
              "totalRecords", "total_entries")
PAGES_KEYS = ("totalPages", "total_pages", "pages", "pageCount", "page_count", "lastPage",
              "last_page")
PAGE_KEYS = ("page", "currentPage", "current_page", "pageNumber", "page_number", "number")
SIZE_KEYS = ("pageSize", "page_size", "perPage", "per_page", "limit", "size")
TOTAL_HEADERS = ("X-Total-Count", "X-Total", "Total-Count", "X-Pagination-Total-Count",
                 "X-Total-Items")
PAGES_HEADERS = ("X-Total-Pages", "X-Page-Count", "X-Pagination-Page-Count", "Total-Pages")
MESSAGE_KEYS = ("message", "detail", "msg", "description", "error_description", "title")
CODE_KEYS = ("code", "type", "error_code", "errorCode", "kind", "reason")
FIELD_KEYS = ("field", "param", "parameter", "pointer", "path", "location", "source")
ENVELOPE_KEYS = ("error", "errors", "fault", "problem")
OPENAPI_PATHS = ("/api/v2/openapi.yaml", "/api/v2/openapi.json", "/openapi.yaml",
                 "/openapi.json", "/api/openapi.yaml", "/api/openapi.json")
READS = {
    "event_types": ("/api/v2/event-types", "/api/v2/event_types", "/api/v2/eventTypes",
                    "/api/v2/registries/event-types"),
    "widget_types": ("/api/v2/widget-types", "/api/v2/widget_types", "/api/v2/widgetTypes",
                     "/api/v2/registries/widget-types"),
    "policy_scopes": ("/api/v2/policy-scopes", "/api/v2/policy_scopes", "/api/v2/policyScopes",
                      "/api/v2/registries/policy-scopes"),
    "hubs": ("/api/v2/hubs",),
    "consumer": ("/api/v2/consumer", "/api/v2/consumers/me", "/api/v2/me"),
}
MANIFEST_PATHS = ("/api/v2/hubs/{slug}/manifest", "/api/v2/manifests/{slug}",
                  "/api/v2/hubs/{slug}/manifests/active")
RATE_LIMIT = {"limit_header": "limit", "remaining_header": "remaining", "reset_header": "reset"}
NEEDS_WRITES = "needs --allow-writes (only a write shows it)"


def first_key(mapping: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of ``names`` present in ``mapping`` (exact, then case-insensitive)."""
    for name in names:
        if name in mapping:
            return name
    lower = {str(k).lower(): k for k in mapping}
    for name in names:
        if name.lower() in lower:
            return str(lower[name.lower()])
    return None


# -- auth --------------------------------------------------------------------------------


def _challenge(probe: Probe) -> list[tuple[str, str]]:
    """A WWW-Authenticate challenge names the scheme the hub wants: try it first."""
    scheme = probe.headers.get("www-authenticate", "").split(" ")[0].split(",")[0].strip()
    return [("Authorization", scheme)] if scheme and scheme.isalpha() else []


def probe_auth(prober: Prober, cal: Calibration) -> Probe | None:
    """The header and scheme the key travels in; the answer to no key. Returns the first
    authenticated list answer (None when no way of sending the key was accepted)."""
    bare = prober.send("GET", WIDGETS, auth=None)
    if bare.ok():
        cal.set("auth.header", None, f"{bare} without any key: the hub takes no key")
        cal.unknown("status.rejections.unauthorized", f"{bare}: nothing is refused for "
                    "want of a key")
        return bare
    if bare.rejected():
        cal.set("status.rejections.unauthorized", bare.status, f"{bare} without a key")
    candidates = _challenge(bare) + [c for c in AUTH_CANDIDATES if c not in _challenge(bare)]
    for header, scheme in candidates:
        answer = prober.send("GET", WIDGETS, auth=(header, scheme))
        if answer.ok():
            shown = f"{header}: {scheme + ' ' if scheme else ''}<key>"
            cal.set("auth.header", header, f"{answer} with `{shown}`")
            cal.set("auth.scheme", scheme, f"{answer} with `{shown}`"
                    + (" (scheme named by WWW-Authenticate)" if _challenge(bare) and
                       (header, scheme) == _challenge(bare)[0] else ""))
            prober.auth = (header, scheme)
            _wrong_key(prober, cal, bare)
            return answer
    for key in ("auth.header", "auth.scheme"):
        cal.unknown(key, f"{WIDGETS} refused the key in every known header "
                    f"({len(candidates)} tried; last {bare.status})")
    return None


def _wrong_key(prober: Prober, cal: Calibration, bare: Probe) -> None:
    """A wrong key in the hub's own header: the same refusal as no key, or both."""
    header, scheme = prober.auth or ("", "")
    wrong = prober.send("GET", WIDGETS, auth=None,
                        headers={header: f"{scheme} {WRONG_KEY}".strip()})
    if wrong.rejected() and bare.rejected() and wrong.status != bare.status:
        cal.set("status.rejections.unauthorized", sorted({bare.status, wrong.status}),
                f"{bare} without a key; {wrong} with a wrong key")


# -- error bodies ------------------------------------------------------------------------


def error_dialect(body: Any) -> dict[str, Any] | None:
    """The register's ``errors`` values that describe one error body, or None."""
    if not isinstance(body, dict) or not body:
        return None
    for key in ENVELOPE_KEYS + tuple(body):
        inner = body.get(key)
        if isinstance(inner, dict) and first_key(inner, MESSAGE_KEYS):
            return {"shape": "object", "envelope_key": key,
                    "code_key": first_key(inner, CODE_KEYS),
                    "message_key": first_key(inner, MESSAGE_KEYS),
                    "field_key": first_key(inner, FIELD_KEYS)}
    envelope = first_key(body, ENVELOPE_KEYS)
    if envelope and isinstance(body[envelope], str):
        return {"shape": "string", "envelope_key": envelope, "code_key": None,
                "message_key": None, "field_key": None}
    message = first_key(body, MESSAGE_KEYS)
    if message and isinstance(body[message], str):
        return {"shape": "message", "envelope_key": None, "message_key": message,
                "code_key": first_key(body, CODE_KEYS), "field_key": first_key(body, FIELD_KEYS)}
    return None


def record_errors(cal: Calibration, probes: list[Probe]) -> None:
    """The error body shape from the rejections seen; a field key from any that has one."""
    seen = [(p, error_dialect(p.body)) for p in probes if p.rejected()]
    seen = [(p, d) for p, d in seen if d is not None]
    if not seen:
        for key in ("shape", "envelope_key", "code_key", "message_key", "field_key"):
            cal.unknown(f"errors.{key}", "no rejection with a JSON error body was seen")
        return
    probe, dialect = seen[0]
    with_field = next(((p, d) for p, d in seen if _names_field(p.body, d)), None)
    for key, value in dialect.items():
        if key == "field_key" and with_field is not None:
            cal.set("errors.field_key", with_field[1]["field_key"],
                    f"{with_field[0]}: the body names the offending field under "
                    f"`{with_field[1]['field_key']}`")
            continue
        cal.set(f"errors.{key}", value, f"{probe}: body keys {_keys(probe.body)}"
                + (f"; {len(seen)} rejections agree" if len(seen) > 1 else ""))


def _names_field(body: Any, dialect: dict[str, Any]) -> bool:
    """Whether an error body fills its field key with a name (not only null)."""
    key = dialect["field_key"]
    if not key or not isinstance(body, dict):
        return False
    holder = body.get(dialect["envelope_key"]) if dialect["shape"] == "object" else body
    return isinstance(holder, dict) and isinstance(holder.get(key), str) and bool(holder[key])


def _keys(body: Any) -> str:
    if isinstance(body, dict):
        inner = {k: sorted(v) for k, v in body.items() if isinstance(v, dict)}
        return str(sorted(body)) + (f" {inner}" if inner else "")
    return type(body).__name__


# -- rate limits -------------------------------------------------------------------------


def probe_rate_limit(cal: Calibration, answer: Probe) -> None:
    """Rate-limit header names from an authenticated answer, or their absence."""
    names = [name for name in answer.headers if "rate" in name.lower()
             and "limit" in name.lower()]
    for key, suffix in RATE_LIMIT.items():
        match = next((n for n in names if n.lower().endswith(suffix)), None)
        if key == "limit_header" and match is None:
            match = next((n for n in names if n.lower().endswith("-limit")), None)
        header = _canonical(match) if match else None
        cal.set(f"rate_limit.{key}", header,
                f"{answer}: header `{header}`" if header
                else f"{answer}: no rate-limit header among {sorted(answer.headers)}")


def _canonical(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-")).replace(
        "Ratelimit", "RateLimit")


# -- reads the register makes optional ---------------------------------------------------


def rows_of(body: Any, cal: Calibration) -> list[Any] | None:
    """The rows of a list answer in the dialect found so far (or guessed from the body)."""
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        return None
    key = cal.value("pagination.data_key") or first_key(body, DATA_KEYS)
    if key is None:
        key = next((k for k, v in body.items() if isinstance(v, list)), None)
    rows = body.get(key) if key else None
    return rows if isinstance(rows, list) else None


def probe_reads(prober: Prober, cal: Calibration) -> dict[str, Probe]:
    """Which registry, hub and consumer reads the hub has, at which path."""
    found: dict[str, Probe] = {}
    for name, paths in READS.items():
        for path in paths:
            answer = prober.send("GET", path)
            if answer.ok() and answer.body is not None:
                cal.set(f"paths.{name}", path, str(answer))
                found[name] = answer
                break
    missing = [n for n in ("event_types", "widget_types", "policy_scopes") if n not in found]
    if not missing:
        cal.set("endpoints.registries", True, "the three registry reads answered 2xx")
    elif len(missing) == 3:
        cal.set("endpoints.registries", False,
                "no registry read answered 2xx at " + ", ".join(READS["event_types"]))
    else:
        cal.unknown("endpoints.registries", f"only some registry reads exist (missing "
                    f"{', '.join(missing)})")
    for name in ("hubs", "consumer"):
        cal.set(f"endpoints.{name}", name in found,
                str(found[name]) if name in found else
                f"no 2xx at {', '.join(READS[name])}")
    _public_reads(prober, cal, found)
    return found


def _public_reads(prober: Prober, cal: Calibration, found: dict[str, Probe]) -> None:
    """Reads answered without a key (the source: public probes show the registry)."""
    if prober.auth is None:
        return
    public, evidence = [], []
    for name in ("event_types", "widget_types", "policy_scopes", "hubs"):
        if name in found:
            bare = prober.send("GET", cal.value(f"paths.{name}"), auth=None)
            evidence.append(f"{bare} without a key")
            if bare.ok():
                public.append(name)
    if evidence:
        cal.set("auth.public_reads", public, "; ".join(evidence))


def probe_identity(prober: Prober, cal: Calibration, reads: dict[str, Probe],
                   widget_rows: list[Any]) -> dict[str, Any]:
    """The ops-hub's slug and id, the consumer's binding, the active manifest."""
    consumer = reads["consumer"].body if "consumer" in reads else None
    consumer = consumer if isinstance(consumer, dict) else None
    hub_id = (consumer or {}).get("hubId")
    hubs = rows_of(reads["hubs"].body, cal) if "hubs" in reads else None
    slug = None
    if hubs:
        mine = [h for h in hubs if isinstance(h, dict) and
                (h.get("id") == hub_id or h.get("slug") == "ops-hub")]
        if mine:
            slug, hub_id = mine[0].get("slug"), hub_id or mine[0].get("id")
            cal.set("vocabulary.hub_slug", slug, f"{reads['hubs']}: the consumer's hub row")
    if hub_id is None:
        hub_id = next((w.get("hubId") for w in widget_rows if isinstance(w, dict)), None)
    if "hubs" not in reads:
        if hub_id:
            cal.set("stand_ins.hub_id", hub_id, "no hubs read: the hubId of "
                    + ("the consumer" if consumer else f"a row of GET {WIDGETS}"))
        else:
            cal.unknown("stand_ins.hub_id", "no hubs read and no row shows the ops-hub's id: "
                        "give it in the file")
    if "consumer" not in reads:
        cal.unknown("stand_ins.consumer", "no consumer read: give {manifestId, hubId} of the "
                    "key's consumer in the file")
    manifest = _probe_manifest(prober, cal, slug or "ops-hub")
    return {"hub_id": hub_id, "consumer": consumer, "manifest": manifest}


def adapter_spec(cal: Calibration, widget_rows: list[Any], shown: str) -> None:
    """An adapter spec id an existing widget names (ASM-20); none visible: nothing written,
    so the suite leaves adapterSpecId out rather than send an invented id."""
    for row in widget_rows:
        spec = row.get("adapterSpecId") if isinstance(row, dict) else None
        if isinstance(spec, str) and spec:
            cal.set("widgets.adapter_spec_id", spec,
                    f"{shown}: widget {row.get('id')} names adapter spec {spec}")
            return


def _probe_manifest(prober: Prober, cal: Calibration, slug: str) -> dict[str, Any] | None:
    for path in MANIFEST_PATHS:
        answer = prober.send("GET", path.format(slug=slug))
        body = answer.body
        if answer.ok() and isinstance(body, dict) and "eventTypes" in body:
            cal.set("endpoints.manifest", True, str(answer))
            cal.set("paths.manifest", path, str(answer))
            _annotation_category(cal, body, str(answer))
            return body
    cal.set("endpoints.manifest", False, "no manifest at " + ", ".join(
        p.format(slug=slug) for p in MANIFEST_PATHS))
    cal.unknown("stand_ins.manifest", "no manifest read: give the active ops-hub manifest "
                "(manifest.schema.json) in the file")
    return None


def _annotation_category(cal: Calibration, manifest: dict[str, Any], shown: str) -> None:
    categories = manifest.get("annotationCategories") or []
    if categories:
        default = "activity-core-evidence"
        choice = default if default in categories else categories[0]
        cal.set("vocabulary.annotation_category", choice,
                f"{shown}: annotationCategories {categories}")


def probe_openapi(prober: Prober, cal: Calibration) -> None:
    for path in OPENAPI_PATHS:
        answer = prober.send("GET", path)
        if answer.ok() and ("openapi" in answer.text[:200]):
            cal.set("endpoints.openapi", True, str(answer))
            cal.set("paths.openapi", path, str(answer))
            return
    cal.set("endpoints.openapi", False, "no OpenAPI document at " + ", ".join(OPENAPI_PATHS))


def probe_widget_reads(prober: Prober, cal: Calibration, widget_id: str | None) -> list[Probe]:
    """One-widget and version reads, and the answer to an unknown widget id."""
    if not widget_id:
        for key in ("endpoints.widget", "endpoints.widget_versions",
                    "status.rejections.not_found"):
            cal.unknown(key, "the hub lists no widget to read " + ("" if cal.written
                        else "(--allow-writes creates one)"))
        return []
    one = prober.send("GET", f"{WIDGETS}/{widget_id}")
    has_one = one.ok() and isinstance(one.body, dict)
    cal.set("endpoints.widget", has_one, f"{one} for a listed widget")
    versions = prober.send("GET", f"{WIDGETS}/{widget_id}/versions")
    cal.set("endpoints.widget_versions", versions.ok(), f"{versions} for a listed widget")
    if not has_one:
        cal.unknown("status.rejections.not_found", "no one-widget read to ask for an "
                    "unknown id")
        return [versions]
    unknown = prober.send("GET", f"{WIDGETS}/{uuid.uuid4()}")
    if unknown.rejected():
        cal.set("status.rejections.not_found", unknown.status, f"{unknown} for a random id")
    else:
        cal.unknown("status.rejections.not_found", f"{unknown}: an unknown id not refused")
    return [unknown]


def probe_state_hub(prober: Prober, cal: Calibration, url: str | None) -> None:
    """The State Hub fallback's progress list (only when its URL is given)."""
    if not url:
        for key in ("state_hub.url", "state_hub.path", "state_hub.auth"):
            cal.unknown(key, "not probed: pass --state-hub URL")
        return
    params = {"event_type": "ops_inventory_probe", "limit": 20}
    for path in ("/progress/", "/progress", "/api/progress/"):
        for auth in (None, "chosen"):
            answer = prober.send("GET", path, params=params, base=url, auth=auth)
            if answer.ok() and isinstance(answer.body, list):
                cal.set("state_hub.url", url.rstrip("/"), "given by --state-hub")
                cal.set("state_hub.path", path, f"{answer} at the State Hub")
                cal.set("state_hub.auth", auth is not None,
                        f"{answer} " + ("with the key" if auth else "without a key"))
                return
            if answer.status == 404:
                break
    for key in ("state_hub.path", "state_hub.auth"):
        cal.unknown(key, f"no progress list at {url} answered a JSON array")
    cal.set("state_hub.url", url.rstrip("/"), "given by --state-hub")


def keep_client_conventions(cal: Calibration, assumptions: Assumptions) -> None:
    """Values no hub answer can show (a convention of the clients that send events)."""
    cal.kept["idempotency.separator"] = (
        f"{assumptions.get('idempotency.separator')!r}: a convention of the clients "
        "building idempotency keys (ASM-14); the hub does not check it")
