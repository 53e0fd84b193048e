"""A hub's dialect: how list pages and error bodies look, derived from the register.

The source says the lists are "paginated" and that bad requests are rejected, nothing
more. How a page carries its rows and totals (ASM-02/03) and how an error reads (ASM-04)
are register values; this module is the one place that turns them into bodies (the
reference hub writes them), reads them back (the client and the suite) and states them
as JSON Schemas (the suite's checks and the OpenAPI document handed to Schemathesis).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ihub_conformance.contract.assumptions import Assumptions

# status -> the error code the reference hub writes (ASM-04)
ERROR_CODES = {
    400: "validation_failed", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "unknown_reference", 429: "rate_limited", 500: "internal_error",
    503: "unavailable",
}


class DialectMismatch(ValueError):
    """A body that does not have the register's shape (an assumption, not a source rule)."""

    def __init__(self, asm_id: str, expected: str, observed: str) -> None:
        super().__init__(f"{asm_id}: expected {expected}, observed {observed}")
        self.asm_id = asm_id
        self.expected = expected
        self.observed = observed


@dataclass(frozen=True)
class PageView:
    """One list page as the register reads it. Counts are the raw values (None: absent)."""

    rows: list[Any]
    total: Any = None
    pages: Any = None
    page: Any = None
    size: Any = None


def page_query(asm: Assumptions, index: int, size: int | None) -> dict[str, Any]:
    """Query parameters for the ``index``-th page (0-based) in the register's numbering."""
    pag = asm.values["pagination"]
    query: dict[str, Any] = {pag["page_param"]: int(pag["first_page"]) + index}
    if size is not None:
        query[pag["size_param"]] = size
    return query


def _header_count(headers: Mapping[str, str], name: str | None) -> Any:
    if not name or name not in headers:
        return None
    raw = headers[name]
    return int(raw) if raw.isascii() and raw.isdigit() else raw


def read_page(asm: Assumptions, body: Any, headers: Mapping[str, str] | None = None) -> PageView:
    """The rows and counts of a list answer; DialectMismatch when the shape differs."""
    pag = asm.values["pagination"]
    headers = headers or {}
    total = _header_count(headers, pag["total_header"])
    pages = _header_count(headers, pag["pages_header"])
    if pag["shape"] == "array":
        if not isinstance(body, list):
            raise DialectMismatch("ASM-03", "a bare JSON array", type(body).__name__)
        return PageView(body, total, pages)
    if not isinstance(body, dict) or not isinstance(body.get(pag["data_key"]), list):
        observed = type(body).__name__ if not isinstance(body, dict) else \
            f"keys {sorted(body)[:6]}"
        raise DialectMismatch("ASM-03", f"an object with a {pag['data_key']!r} array", observed)
    meta = body if pag["meta_key"] is None else body.get(pag["meta_key"])
    if not isinstance(meta, dict):
        raise DialectMismatch("ASM-03", f"an object under {pag['meta_key']!r}",
                              type(meta).__name__)

    def count(key: str | None, fallback: Any) -> Any:
        return meta.get(key) if key else fallback

    return PageView(body[pag["data_key"]], count(pag["total_key"], total),
                    count(pag["pages_key"], pages), count(pag["page_key"], None),
                    count(pag["size_key"], None))


def write_page(asm: Assumptions, rows: list[Any], *, page: Any, size: Any, total: Any,
               pages: Any) -> tuple[Any, dict[str, str]]:
    """The body and headers of a list answer in the register's dialect (reference hub)."""
    pag = asm.values["pagination"]
    headers = {name: str(value) for name, value in
               ((pag["total_header"], total), (pag["pages_header"], pages)) if name}
    if pag["shape"] == "array":
        return rows, headers
    meta = {key: value for key, value in ((pag["page_key"], page), (pag["size_key"], size),
                                          (pag["total_key"], total), (pag["pages_key"], pages))
            if key}
    if pag["meta_key"] is None:
        return {pag["data_key"]: rows, **meta}, headers
    return {pag["data_key"]: rows, pag["meta_key"]: meta}, headers


def error_body(asm: Assumptions, status: int, message: str, field: str | None) -> Any:
    """An error body in the register's shape (reference hub)."""
    err = asm.values["errors"]
    if err["shape"] == "string":
        return {err["envelope_key"] or "error": message}
    parts = {err["code_key"]: ERROR_CODES.get(status, "error"), err["message_key"]: message,
             err["field_key"]: field}
    parts = {key: value for key, value in parts.items() if key}
    if err["shape"] == "message" or not err["envelope_key"]:
        return parts
    return {err["envelope_key"]: parts}


def error_field(asm: Assumptions, body: Any) -> Any:
    """The field an error body names (None when the dialect names none)."""
    err = asm.values["errors"]
    if err["shape"] == "string" or not err["field_key"] or not isinstance(body, dict):
        return None
    node = body if err["shape"] == "message" or not err["envelope_key"] \
        else body.get(err["envelope_key"])
    return node.get(err["field_key"]) if isinstance(node, dict) else None


def names_fields(asm: Assumptions) -> bool:
    """Whether this dialect's errors name the offending field."""
    err = asm.values["errors"]
    return err["shape"] != "string" and bool(err["field_key"])


_TEXT = {"type": "string", "minLength": 1, "pattern": "\\S"}
_COUNT = {"type": "integer", "minimum": 0}


def error_schema(asm: Assumptions) -> dict[str, Any]:
    """JSON Schema of an error body in this dialect (ASM-04)."""
    err = asm.values["errors"]
    if err["shape"] == "string":
        key = err["envelope_key"] or "error"
        return {"type": "object", "required": [key], "properties": {key: _TEXT}}
    props = {err["code_key"]: _TEXT, err["message_key"]: _TEXT,
             err["field_key"]: {"type": ["string", "null"]}}
    props = {key: value for key, value in props.items() if key}
    inner = {"type": "object", "required": sorted(props), "properties": props}
    if err["shape"] == "message" or not err["envelope_key"]:
        return {"title": "error body (ASM-04)", **inner}
    return {"title": "error body (ASM-04)", "type": "object",
            "required": [err["envelope_key"]], "properties": {err["envelope_key"]: inner}}


def page_schema(asm: Assumptions, rows: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """JSON Schema of a list body in this dialect (ASM-03); counts are integers (gate 1)."""
    pag = asm.values["pagination"]
    items = {"type": "array", **({"items": dict(rows)} if rows else {})}
    if pag["shape"] == "array":
        return {"title": "list page (ASM-03)", **items}
    first = int(pag["first_page"])
    counts = {pag["page_key"]: {"type": "integer", "minimum": first},
              pag["size_key"]: {"type": "integer", "minimum": 1},
              pag["total_key"]: _COUNT, pag["pages_key"]: _COUNT}
    counts = {key: value for key, value in counts.items() if key}
    if pag["meta_key"] is None:
        props = {pag["data_key"]: items, **counts}
        return {"title": "list page (ASM-03)", "type": "object", "required": sorted(props),
                "properties": props}
    meta = {"type": "object", "required": sorted(counts), "properties": counts}
    return {"title": "list page (ASM-03)", "type": "object",
            "required": [pag["data_key"], pag["meta_key"]],
            "properties": {pag["data_key"]: items, pag["meta_key"]: meta}}


def rate_limit_headers(asm: Assumptions) -> list[str]:
    """The rate-limit header names this dialect sends (none when all are null)."""
    rate = asm.values["rate_limit"]
    return [rate[key] for key in ("limit_header", "remaining_header", "reset_header")
            if rate.get(key)]


def count_headers(asm: Assumptions) -> list[str]:
    pag = asm.values["pagination"]
    return [name for name in (pag["total_header"], pag["pages_header"]) if name]
