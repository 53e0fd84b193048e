"""A small WSGI hub that honours the source's statements in a configurable dialect.

For calibrate's tests: each option is a convention the source leaves open (auth
header, pagination names and first page, totals location, create status, error
body, rate-limit headers, public registry reads, missing endpoints). Served
through httpx.WSGITransport: no socket, no thread.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs

HUB_ID = "11111111-2222-4333-8444-555555555555"
MANIFEST = {"id": "66666666-7777-4888-8999-000000000000", "hubSlug": "ops-hub", "version": 1,
            "eventTypes": ["ops-service-discovered", "ops-endpoint-verified",
                           "ops-backup-verified", "ops-drift-detected"],
            "widgetTypes": ["ops-endpoint", "ops-service"],
            "annotationCategories": ["evidence-notes"],
            "policyScopes": ["internal", "ops-production"]}
DEFAULT = {
    "auth": ("Authorization", "Bearer"), "public_reads": False, "unauthorized": 401,
    "page_param": "page", "size_param": "pageSize", "first_page": 1, "default_size": 5,
    "max_size": 20, "bad_page": 400, "shape": "envelope", "data_key": "data",
    "meta_key": "pagination", "total_key": "totalCount", "pages_key": "totalPages",
    "total_header": None, "create_status": 201, "errors": "object", "validation": 400,
    "unknown_reference": 422, "media": 415, "max_body": 65536,
    "rate_headers": ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
    "openapi": True, "versions": True, "hubs": True, "consumer": True, "rows": 12,
    "wrong_key": None, "missing_field": None,
}


class DialectHub:
    def __init__(self, key: str, **dialect: Any) -> None:
        self.key = key
        self.d = {**DEFAULT, **dialect}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.widgets = [self._widget(f"seed-{n}", "ops-endpoint") for n in range(self.d["rows"])]
        self.events: list[dict[str, Any]] = []

    def _widget(self, name: str, widget_type: str, status: str = "active") -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "hubId": HUB_ID, "name": name,
                "widgetType": widget_type, "policyScope": "internal", "status": status}

    # -- answers ------------------------------------------------------------------------

    def _error(self, status: int, message: str, field: str | None = None) -> tuple:
        shape = self.d["errors"]
        if shape == "string":
            body: Any = {"error": message}
        elif shape == "message":
            body = {"detail": message, "param": field}
        else:
            body = {"error": {"code": "bad", "message": message, "field": field}}
        return status, body, {}

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.d["auth"] is None:
            return True
        header, scheme = self.d["auth"]
        return headers.get(header.lower()) == f"{scheme} {self.key}".strip()

    def _list(self, rows: list[Any], query: dict[str, str]) -> tuple:
        d = self.d
        try:
            size = int(query.get(d["size_param"], d["default_size"]))
            page = int(query.get(d["page_param"], d["first_page"]))
        except ValueError:
            return self._error(400, "not an integer", d["size_param"])
        if size < 1 or size > d["max_size"] or page < d["first_page"]:
            if d["bad_page"] != "clamp":
                return self._error(d["bad_page"], "out of range", d["size_param"])
            size, page = min(max(size, 1), d["max_size"]), max(page, d["first_page"])
        start = (page - d["first_page"]) * size
        window, total = rows[start:start + size], len(rows)
        headers = {d["total_header"]: str(total)} if d["total_header"] else {}
        if d["shape"] == "array":
            return 200, window, headers
        meta = {d["total_key"]: total, d["pages_key"]: max(1, -(-total // size))}
        body = {d["data_key"]: window}
        if d["meta_key"]:
            body[d["meta_key"]] = meta
        else:
            body.update(meta)
        return 200, body, headers

    def _post(self, path: str, headers: dict[str, str], raw: bytes) -> tuple:
        if len(raw) > self.d["max_body"]:
            return self._error(413, "too large")
        if not headers.get("content-type", "").startswith("application/json") \
                and self.d["media"] != "accept":
            return self._error(self.d["media"], "JSON only", "Content-Type")
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(self.d["validation"], "malformed JSON")
        status = self.d["create_status"]
        if path == "/api/v2/widgets":
            if not isinstance(body.get("name"), str):
                return self._error(self.d["validation"], "name required", "name")
            widget = self._widget(body["name"], body.get("widgetType", ""),
                                  body.get("status", "active"))
            self.widgets.append(widget)
            return status, widget, {}
        if "widgetId" not in body:
            return self._error(self.d["missing_field"] or self.d["validation"],
                               "widgetId required", "widgetId")
        if body.get("eventType") not in MANIFEST["eventTypes"]:
            return self._error(self.d["unknown_reference"], "unknown event type", "eventType")
        event = {"id": str(uuid.uuid4()), **body, "actorType": "api"}
        self.events.append(event)
        return status, event, {}

    def _get(self, path: str, query: dict[str, str]) -> tuple | None:
        d = self.d
        registry = {"/api/v2/event-types": MANIFEST["eventTypes"],
                    "/api/v2/widget-types": MANIFEST["widgetTypes"],
                    "/api/v2/policy-scopes": MANIFEST["policyScopes"]}
        if path in registry:
            return self._list([{"name": n} for n in registry[path]], query)
        if path == "/api/v2/widgets":
            return self._list(self.widgets, query)
        if path == "/api/v2/interaction-events":
            return self._list(self.events, query)
        if path == "/api/v2/hubs" and d["hubs"]:
            return self._list([{"id": HUB_ID, "slug": "ops-hub"}], query)
        if path == "/api/v2/consumer" and d["consumer"]:
            return 200, {"id": "c1", "hubId": HUB_ID, "manifestId": MANIFEST["id"]}, {}
        if path == "/api/v2/hubs/ops-hub/manifest":
            return 200, MANIFEST, {}
        for widget in self.widgets:
            if path == f"/api/v2/widgets/{widget['id']}":
                return 200, widget, {}
            if path == f"/api/v2/widgets/{widget['id']}/versions" and d["versions"]:
                return self._list([{"version": 1, "widgetId": widget["id"]}], query)
        return None

    def answer(self, method: str, path: str, query: dict[str, str],
               headers: dict[str, str], raw: bytes) -> tuple:
        public = self.d["public_reads"] and path.startswith(
            ("/api/v2/event-types", "/api/v2/widget-types", "/api/v2/policy-scopes"))
        if path == "/api/v2/openapi.yaml" and self.d["openapi"]:
            return 200, "openapi: 3.1.0\n", {}
        if not public and not self._authorized(headers):
            sent = self.d["auth"] and headers.get(self.d["auth"][0].lower())
            status = self.d["wrong_key"] if sent and self.d["wrong_key"] else \
                self.d["unauthorized"]
            return self._error(status, "no valid key")
        found = self._post(path, headers, raw) if method == "POST" else self._get(path, query)
        if found is None:
            return self._error(404, "not found")
        return found

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], headers))
        status, body, extra = self.answer(environ["REQUEST_METHOD"], environ["PATH_INFO"],
                                          query, headers, raw)
        text = body if isinstance(body, str) else json.dumps(body)
        out = [("Content-Type", "application/json"), *extra.items()]
        if 200 <= status < 300 and self.d["rate_headers"]:
            out += [(name, "100") for name in self.d["rate_headers"]]
        start_response(f"{status} X", out)
        return [text.encode()]
