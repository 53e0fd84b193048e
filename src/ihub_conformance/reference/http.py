"""HTTP plumbing of the reference hub: refusals, JSON responses, body reading."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ihub_conformance.documents import may_repeat_keys

INT_MIN, UINT_MAX = -(2**63), 2**64 - 1  # what orjson reads and writes exactly
MAX_DEPTH = 64  # nesting levels of a stored JSON field (see check_depth)


class ApiError(Exception):
    """A refusal: rendered as the error envelope with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None, *,
                 headers: dict[str, str] | None = None, case: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.case = case  # the register's rejection case (status.rejections), when not implied
        self.message = message
        self.field = field
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, cap: int | None) -> bytes:
    """The request body, refusing (413) more than ``cap`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if cap is not None and declared and declared.isdigit() and int(declared) > cap:
        raise ApiError(413, f"request body exceeds {cap} bytes", "body")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if cap is not None and size > cap:
                raise ApiError(413, f"request body exceeds {cap} bytes", "body")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody reads the answer; the access log still shows it
        raise ApiError(400, "the client disconnected before the body ended", "body") from None
    return b"".join(chunks)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, else a 400 (the field is null: it is the whole body)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        _refuse_ambiguous(body)  # JSON orjson cannot hold (a huge number): name the field
        raise ApiError(400, "request body is not valid JSON", None) from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", None)
    if may_repeat_keys(body, data) or _holds_float(data):
        _refuse_ambiguous(body)
    return data


class _Repeated(dict):
    """An object of the body in which ``key`` appeared more than once."""

    key = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    repeated = _Repeated(document)
    seen: set[str] = set()
    repeated.key = next(k for k in (k for k, _ in pairs) if k in seen or seen.add(k))
    return repeated


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _holds_float(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is float:
            return True
        if type(node) is dict:
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return False


def _refuse_ambiguous(body: bytes) -> None:
    """400 naming the field when orjson's reading changed the body (ASM-19): a repeated
    key (orjson keeps the last) or an integer beyond 64 bits (orjson makes it a float)."""
    try:
        exact = json.loads(body, object_pairs_hook=_pairs, parse_constant=_not_json)
    except (ValueError, RecursionError):  # not JSON, or an integer over 4300 digits
        raise ApiError(400, "request body is not valid JSON", None) from None
    if not isinstance(exact, dict):
        return
    if isinstance(exact, _Repeated):
        raise ApiError(400, f"request body repeats key {exact.key!r}", exact.key)
    for field, value in exact.items():
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, _Repeated):
                raise ApiError(400, f"{field} repeats key {node.key!r}", field)
            if type(node) is int and not INT_MIN <= node <= UINT_MAX:
                raise ApiError(400, f"{field} holds an integer outside the 64-bit range "
                               "(it would not be stored exactly)", field)
            if type(node) is float and not math.isfinite(node):
                raise ApiError(400, f"{field} holds a number beyond double range", field)
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)


def check_depth(data: dict[str, Any]) -> None:
    """Refuse (400, naming the top-level field) values nested deeper than MAX_DEPTH.

    orjson reads up to 1024 levels but writes only ~254, so a deeper stored value
    (metadata) could be accepted and then fail to be stored or answered: refuse it.
    """
    for field, value in data.items():
        stack = [(value, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise ApiError(400, f"{field} nests deeper than {MAX_DEPTH} levels", field)
            if isinstance(node, dict):
                stack.extend((child, depth + 1) for child in node.values())
            elif isinstance(node, list):
                stack.extend((child, depth + 1) for child in node)
