"""The reference Inter-Hub as a Starlette app: /api/v2 routes and the State Hub /progress/.

Behaviour follows the source document and contracts/v1/assumptions.yaml exactly;
the paths, auth header, pagination names and limits are read from the register
so an override applies to the hub and the suite alike.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import yaml
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ihub_conformance._paths import contracts_dir
from ihub_conformance.contract import dialect
from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.contract.openapi import bundle_openapi
from ihub_conformance.errors import ConformanceError
from ihub_conformance.reference import rules
from ihub_conformance.reference.auth import (
    Consumer,
    KeyRing,
    RateLimiter,
    hash_key,
    parse_auth_header,
)
from ihub_conformance.reference.faults import check_faults
from ihub_conformance.reference.http import (
    ApiError,
    json_response,
    media_type,
    parse_json_object,
    read_body,
)
from ihub_conformance.reference.seed import load_seed
from ihub_conformance.reference.store import Store, StoreBusy

DEFAULT_RATE_LIMIT = 100_000  # requests per consumer per window (ASM-11)
DEFAULT_RATE_WINDOW = 60.0
PROGRESS_DEFAULT_LIMIT = 20
PROGRESS_MAX_LIMIT = 500
# Fault-only facts: an earlier manifest's id, the registries' manifest keys.
STALE_MANIFEST_ID = "00000000-0000-4000-8000-000000000010"
_MANIFEST_KEYS = {"event_types": "eventTypes", "widget_types": "widgetTypes",
                  "policy_scopes": "policyScopes"}

Handler = Callable[[Request, Consumer | None], Awaitable[Response]]


def openapi_path() -> Path:
    return contracts_dir() / "v1" / "openapi.yaml"


class _Hub:
    """Route handlers sharing the store, the key ring, the limiter and the faults."""

    def __init__(self, store: Store, ring: KeyRing, limiter: RateLimiter, asm: Assumptions,
                 faults: frozenset[str], leak_key: str | None) -> None:
        self.store = store
        self.ring = ring
        self.limiter = limiter
        self.faults = faults
        self.asm = asm
        self.values = asm.values
        self._leak_key = leak_key  # kept only when the progress_leaks_secret fault is on
        self.auth_header = asm.get("auth.header")
        self.auth_scheme = asm.get("auth.scheme") or ""
        self.cap = None if "no_body_cap" in faults else int(asm.get("limits.max_body_bytes"))

    # -- plumbing ---------------------------------------------------------------------------

    def error(self, exc: ApiError) -> Response:
        status = _dialect_status(self.asm, exc)
        body = dialect.error_body(self.asm, status, exc.message,
                                  None if "error_field_null" in self.faults else exc.field)
        return json_response(body, status, exc.headers)

    def endpoint(self, handler: Handler, *, auth: bool = True, is_list: bool = False,
                 name: str | None = None) -> Callable[[Request], Awaitable[Response]]:
        public = name is not None and not self.asm.needs_key(name)

        async def run(request: Request) -> Response:
            extra: dict[str, str] = {}
            try:
                consumer = None
                if auth:
                    consumer, extra = self._authenticate(request, is_list=is_list,
                                                         public=public)
                response = await handler(request, consumer)
            except ApiError as exc:
                exc.headers = {**extra, **exc.headers}
                response = self.error(exc)
            except StoreBusy:  # another process holds a shared --db file's write lock
                response = self.error(ApiError(503, "the database is busy; retry later", None,
                                               headers={**extra, "Retry-After": "1"}))
            except Exception as exc:  # a bug: one log line, never a traceback in the log
                print(f"ihub-conformance: reference hub: internal error on {request.method} "
                      f"{request.url.path}: {type(exc).__name__}", file=sys.stderr, flush=True)
                response = self.error(ApiError(500, "internal error"))
            else:
                response.headers.update(extra)
            if auth and "text_plain_answers" in self.faults:
                response.headers["content-type"] = "text/plain; charset=utf-8"
            return response

        return run

    def _authenticate(self, request: Request, *, is_list: bool, public: bool = False
                      ) -> tuple[Consumer | None, dict[str, str]]:
        if not self.auth_header:  # a dialect without keys: every caller is the bound one
            bound = next(iter(self.ring.bound()), None)
            return bound, self._rate_headers(bound)
        key = parse_auth_header(request.headers.get(self.auth_header), self.auth_scheme)
        consumer = self.ring.lookup(key) if key is not None else None
        if consumer is None and public and key is None:
            return None, {}
        if consumer is None and key is not None and "accept_wrong_key" in self.faults:
            consumer = next(iter(self.ring.bound()), None)
        if consumer is None:
            if is_list and "skip_auth_on_lists" in self.faults:
                return None, {}
            message = "missing or malformed API key" if key is None else "invalid API key"
            headers = {"WWW-Authenticate": self.auth_scheme or "ApiKey"}
            if key is not None and "echo_key" in self.faults:
                message += f": {key}"
            raise ApiError(401, message, self.auth_header, headers=headers)
        headers = self._rate_headers(consumer)
        if "echo_key" in self.faults:
            headers["X-Api-Key"] = key or ""
        return consumer, headers

    def _rate_headers(self, consumer: Consumer | None) -> dict[str, str]:
        """Count the request; the dialect's rate-limit headers (a 429 past the limit)."""
        if consumer is None:
            return {}
        state = self.limiter.hit(consumer.id)
        headers: dict[str, str] = {}
        if "no_rate_limit_headers" not in self.faults:
            rate = self.values["rate_limit"]
            for key, value in (("limit_header", state.limit),
                               ("remaining_header", state.remaining),
                               ("reset_header", state.reset)):
                if rate.get(key):
                    headers[rate[key]] = str(value)
        if not state.allowed:
            raise ApiError(429, "rate limit exceeded", None,
                           headers={**headers, "Retry-After": str(max(1, state.reset))})
        return headers

    def page(self, request: Request, fetch: Callable[[int, int], tuple[list[Any], int]]
             ) -> Response:
        pag = self.values["pagination"]
        first = int(pag["first_page"])
        page, size = rules.page_params(
            request.query_params, page_param=pag["page_param"], size_param=pag["size_param"],
            default_size=int(pag["default_size"]), max_size=int(pag["max_size"]),
            first_page=first)
        offset = (page - first) * size
        if "pagination_overlap" in self.faults and page > 1:
            offset -= 1
        rows, total = fetch(offset, size)
        if "pagination_drops_last" in self.faults and rows and offset + len(rows) >= total:
            rows = rows[:-1]
        pages: int | str = math.ceil(total / size)
        count: int | str = total
        if "counts_as_strings" in self.faults:
            pages, count = str(pages), str(count)
        body, headers = dialect.write_page(self.asm, rows, page=page, size=size, total=count,
                                           pages=pages)
        return json_response(body, headers=headers)

    async def json_body(self, request: Request) -> dict[str, Any]:
        if media_type(request) != "application/json":  # ASM-12's guess; status per dialect
            raise ApiError(415, "request body must be application/json", "Content-Type")
        body = await read_body(request, self.cap)
        try:
            return parse_json_object(body)
        except ApiError as exc:
            if exc.status == 400 and exc.field is None and "bad_json_500" in self.faults:
                raise ApiError(500, "internal error") from None  # a hub crashing on bad JSON
            raise

    def created(self, operation: str, resource: dict[str, Any]) -> Response:
        spec = self.values["status"][operation]
        status = spec if isinstance(spec, int) else 201
        return json_response(resource, 200 if "created_200" in self.faults else status)

    def widget_id_param(self, request: Request) -> str:
        widget_id = request.path_params["id"]
        if not rules.is_uuid(widget_id):
            raise ApiError(400, "id must be a UUID", "id")
        widget_id = widget_id.lower()
        if not self.store.widget_exists(widget_id):
            raise ApiError(404, f"widget {widget_id} does not exist", "id")
        return widget_id

    # -- widgets ----------------------------------------------------------------------------

    def widget_out(self, widget: Any) -> Any:
        if widget and "widget_without_updated_at" in self.faults:
            return {k: v for k, v in widget.items() if k != "updatedAt"}
        return widget

    async def list_widgets(self, request: Request, consumer: Consumer | None) -> Response:
        def fetch(offset: int, size: int) -> tuple[list[Any], int]:
            rows, total = self.store.list_widgets(offset, size)
            return [self.widget_out(row) for row in rows], total

        return self.page(request, fetch)

    async def create_widget(self, request: Request, consumer: Consumer | None) -> Response:
        body = await self.json_body(request)
        fields = rules.widget_fields(body, self.store, self.faults)
        # Writes run off the event loop: waiting for a lock never stalls other requests.
        widget = await run_in_threadpool(
            self.store.create_widget, fields,
            with_version="no_widget_version" not in self.faults)
        return self.created("create_widget", self.widget_out(widget))

    async def get_widget(self, request: Request, consumer: Consumer | None) -> Response:
        if "unknown_widget_200" in self.faults:
            widget_id = request.path_params["id"].lower()
            if rules.is_uuid(widget_id) and not self.store.widget_exists(widget_id):
                return json_response(None)
        return json_response(self.widget_out(self.store.get_widget(self.widget_id_param(request))))

    async def list_versions(self, request: Request, consumer: Consumer | None) -> Response:
        widget_id = self.widget_id_param(request)

        def fetch(offset: int, size: int) -> tuple[list[Any], int]:
            rows, total = self.store.list_versions(widget_id, offset, size)
            if "snake_case_snapshot" in self.faults:  # a record's columns, as stored
                for row in rows:
                    row["snapshot"] = {_snake(k): v for k, v in row["snapshot"].items()}
            return rows, total

        return self.page(request, fetch)

    # -- interaction events -----------------------------------------------------------------

    async def list_events(self, request: Request, consumer: Consumer | None) -> Response:
        query = request.query_params
        widget_id = query.get("widgetId")
        if widget_id is not None and not rules.is_uuid(widget_id):
            raise ApiError(400, "widgetId must be a UUID", "widgetId")
        if "ignore_widget_id_filter" in self.faults:
            widget_id = None
        event_type = None if "ignore_event_type_filter" in self.faults else query.get("eventType")
        return self.page(request, lambda o, n: self.store.list_events(
            o, n, widget_id=widget_id.lower() if widget_id else None, event_type=event_type))

    async def create_event(self, request: Request, consumer: Consumer | None) -> Response:
        assert consumer is not None
        if "accept_form_metadata" in self.faults and media_type(request) in (
            "application/x-www-form-urlencoded", "multipart/form-data"
        ):
            body = _form_body(await read_body(request, self.cap))
        else:
            body = await self.json_body(request)
        fields = rules.event_fields(body, self.faults)
        refusal = rules.event_references(fields, self.store, consumer.manifest_id, self.faults)
        if refusal is not None:
            if refusal.field == "eventType" and "store_rejected_event" in self.faults:
                await run_in_threadpool(self.store.create_event, fields)
            raise refusal
        return self.created("create_event",
                            await run_in_threadpool(self.store.create_event, fields))

    # -- registries, hubs, manifest, consumer -----------------------------------------------

    def registry(self, table: str) -> Handler:
        async def handler(request: Request, consumer: Consumer | None) -> Response:
            if consumer is None and "public_registry_partial" in self.faults:
                return self.page(request, lambda o, n: self._declared_rows(table, o, n))
            return self.page(request, lambda o, n: self.store.list_registry(table, o, n))

        return handler

    def _declared_rows(self, table: str, offset: int, limit: int
                       ) -> tuple[list[dict[str, Any]], int]:
        """Fault only: the registry rows the active manifest declares, as one list."""
        manifest = self.store.active_manifest(str(self.asm.get("vocabulary.hub_slug"))) or {}
        declared = set(manifest.get(_MANIFEST_KEYS[table], ()))
        rows = [row for row in self.store.list_registry(table, 0, 1_000_000)[0]
                if row["name"] in declared]
        return rows[offset:offset + limit], len(rows)

    async def list_hubs(self, request: Request, consumer: Consumer | None) -> Response:
        return self.page(request, self.store.list_hubs)

    async def manifest(self, request: Request, consumer: Consumer | None) -> Response:
        slug = request.path_params["slug"]
        manifest = self.store.active_manifest(slug)
        if manifest is None:
            raise ApiError(404, f"hub {slug!r} has no active manifest", "slug")
        return json_response(manifest)

    async def consumer(self, request: Request, consumer: Consumer | None) -> Response:
        assert consumer is not None
        resource = consumer.as_resource()
        if "consumer_wrong_hub" in self.faults and resource.get("manifestId"):
            resource["hubId"] = resource["manifestId"]
        if "consumer_stale_manifest" in self.faults and resource.get("manifestId"):
            resource["manifestId"] = STALE_MANIFEST_ID
        return json_response(resource)

    # -- unauthenticated: OpenAPI document, State Hub progress ------------------------------

    async def openapi(self, request: Request, consumer: Consumer | None) -> Response:
        if self.asm.overridden_from:  # another dialect: the document as this hub speaks it
            document = bundle_openapi(self.asm.contract, self.asm)
            return Response(yaml.safe_dump(document, sort_keys=False),
                            media_type="application/yaml")
        path = openapi_path()
        try:
            content = path.read_bytes()
        except OSError:
            raise ApiError(404, "the OpenAPI document is not available", None) from None
        return Response(content, media_type="application/yaml")

    async def progress(self, request: Request, consumer: Consumer | None) -> Response:
        query = request.query_params
        limit = PROGRESS_DEFAULT_LIMIT
        raw = query.get("limit")
        digits = raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 6
        if "progress_any_limit" in self.faults:  # no range: a bad limit means the default
            limit = int(raw) if digits else limit
        elif raw is not None:
            if not digits or not 1 <= int(raw) <= PROGRESS_MAX_LIMIT:
                raise ApiError(400, f"limit must be an integer 1..{PROGRESS_MAX_LIMIT}", "limit")
            limit = int(raw)
        if "progress_ignores_limit" in self.faults:
            limit = 1_000_000
        event_type = query.get("event_type")
        if "progress_ignores_event_type" in self.faults:
            event_type = None
        rows = self.store.list_progress(event_type, limit,
                                        newest_first="progress_oldest_first" not in self.faults)
        if self._leak_key is not None:
            for row in rows:
                row["detail"] = dict(row["detail"], request_headers={
                    self.auth_header or "Authorization":
                        f"{self.auth_scheme} {self._leak_key}".strip()})
        return json_response(rows)


def _by_method(path: str, **endpoints: Callable[[Request], Awaitable[Response]]) -> Route:
    """One route for all methods of a path, so a 405 lists every allowed method."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return Route(path, dispatch, methods=list(endpoints))


def _routes(hub: _Hub, asm: Assumptions) -> list[Route]:
    """The routes of this dialect: a read the register says the hub lacks is not served."""
    ep, has = hub.endpoint, asm.has_endpoint
    routes = [
        _by_method(asm.path("widgets"), GET=ep(hub.list_widgets, is_list=True, name="widgets"),
                   POST=ep(hub.create_widget)),
        _by_method(asm.path("interaction_events"),
                   GET=ep(hub.list_events, is_list=True, name="interaction_events"),
                   POST=ep(hub.create_event)),
        Route(asm.get("state_hub.path"), ep(hub.progress, auth=False), methods=["GET"]),
    ]
    optional = [
        ("widget_versions", "widget_versions", hub.list_versions, True),
        ("widget", "widget", hub.get_widget, False),
        ("registries", "event_types", hub.registry("event_types"), True),
        ("registries", "widget_types", hub.registry("widget_types"), True),
        ("registries", "policy_scopes", hub.registry("policy_scopes"), True),
        ("hubs", "hubs", hub.list_hubs, True),
        ("manifest", "manifest", hub.manifest, False),
        ("consumer", "consumer", hub.consumer, False),
    ]
    routes += [Route(asm.get(f"paths.{name}"), ep(handler, is_list=is_list, name=name),
                     methods=["GET"]) for endpoint, name, handler, is_list in optional
               if has(endpoint)]
    if has("openapi"):
        routes.append(Route(asm.path("openapi"), ep(hub.openapi, auth=False), methods=["GET"]))
    return routes


def _dialect_status(asm: Assumptions, exc: ApiError) -> int:
    """The status this dialect answers ``exc`` with (a pinned one; else the usual code)."""
    case = exc.case or _CASES.get(exc.status)
    spec = asm.values["status"]["rejections"].get(case) if case else None
    if isinstance(spec, list):
        return int(spec[0])
    return spec if isinstance(spec, int) else exc.status


_CASES = {400: "validation", 401: "unauthorized", 404: "not_found", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "unknown_reference"}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _form_body(raw: bytes) -> dict[str, Any]:
    """Form fields as a dict; a metadata field holding JSON is decoded (fault only)."""
    fields: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8", "replace")))
    if "metadata" in fields:
        with contextlib.suppress(orjson.JSONDecodeError):
            fields["metadata"] = orjson.loads(fields["metadata"])
    return fields


def _faulty_seed(data: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """The seed as a fault changes it (access_path_widget_type registers the deferred type)."""
    if "access_path_widget_type" not in faults:
        return data
    extra = {"name": "ops-access-path", "description": "Access paths (should stay deferred)"}
    return {**data, "widget_types": [*data["widget_types"], extra]}


def _hold_an_access_path_event(store: Store, data: dict[str, Any]) -> None:
    """Fault only: an access-path check on the hub, as activity-core would have sent it."""
    widget = data["widgets"][0]["id"]
    store.create_event({
        "widgetId": widget, "eventType": "ops-access-path-checked", "viewContextRef": None,
        "actorType": "api", "metadata": {
            "activity_core_run_id": "run-20260627-0001", "context_key": "railiance/inter-hub",
            "idempotency_key": "run-20260627-0001:railiance/inter-hub:ops-access-path-checked",
            "attributes": {"observed_at": "2026-06-27T08:00:03Z"}}})


# long: the route table and the app's wiring, read together
def create_app(
    *,
    db: str | None = None,
    seed: str | Path | Mapping[str, Any] | None = None,
    keys: Mapping[str, str] | None = None,
    faults: frozenset[str] | set[str] | tuple[str, ...] = frozenset(),
    rate_limit: int = DEFAULT_RATE_LIMIT,
    rate_window: float = DEFAULT_RATE_WINDOW,
    assumptions: Assumptions | None = None,
) -> Starlette:
    """Build a seeded reference hub. ``keys`` maps consumer name -> key; a consumer
    without one gets a random key nobody knows (it cannot authenticate)."""
    chosen = check_faults(faults)
    asm = assumptions or load_assumptions()
    data = load_seed(seed)
    keys = dict(keys or {})
    for consumer in data["consumers"]:
        keys.setdefault(consumer["name"], secrets.token_urlsafe(32))
    if any(not isinstance(k, str) or not k.strip() or k != k.strip() for k in keys.values()):
        raise ConformanceError("API keys must be non-empty and carry no surrounding whitespace")
    if len(set(keys.values())) != len(keys):
        raise ConformanceError("two API consumers were given the same key")
    data = _faulty_seed(data, chosen)
    store = Store(db or ":memory:")
    store.load_seed(data, {name: hash_key(key) for name, key in keys.items()})
    if "access_path_event_held" in chosen:
        _hold_an_access_path_event(store, data)
    ring = KeyRing(store.consumers())
    bound = next((c["name"] for c in data["consumers"] if c["manifest"]), None)
    leak = keys.get(bound) if bound and "progress_leaks_secret" in chosen else None
    hub = _Hub(store, ring, RateLimiter(rate_limit, rate_window), asm, chosen, leak)
    app_routes = _routes(hub, asm)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        message = "no such route" if status == 404 else (exc.detail or "error")
        if status == 405:
            message = f"method {request.method} not allowed"
        return hub.error(ApiError(status, message, None, headers=dict(exc.headers or {})))

    async def server_error(request: Request, exc: Exception) -> Response:
        # Reached only by a bug; keep the envelope and never echo request data.
        return hub.error(ApiError(500, "internal error"))

    app = Starlette(routes=app_routes, exception_handlers={HTTPException: http_error,
                                                       Exception: server_error})
    app.router.redirect_slashes = False
    app.state.store = store
    app.state.faults = chosen
    return app
