"""HTTP plumbing of the reference hub: the error envelope, JSON responses, body reading."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

# status -> error code (assumptions ASM-04)
ERROR_CODES = {
    400: "validation_failed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unknown_reference",
    429: "rate_limited",
    500: "internal_error",
}


MAX_DEPTH = 64  # nesting levels of a stored JSON field (see check_depth)


class ApiError(Exception):
    """A refusal: rendered as the error envelope with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


def error_response(error: ApiError, *, envelope_key: str = "error", field_key: str = "field",
                   field_null: bool = False) -> Response:
    body = {envelope_key: {"code": ERROR_CODES.get(error.status, "error"),
                           "message": error.message,
                           field_key: None if field_null else error.field}}
    return json_response(body, error.status, error.headers)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, cap: int | None) -> bytes:
    """The request body, refusing (413) more than ``cap`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if cap is not None and declared and declared.isdigit() and int(declared) > cap:
        raise ApiError(413, f"request body exceeds {cap} bytes", "body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if cap is not None and size > cap:
            raise ApiError(413, f"request body exceeds {cap} bytes", "body")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, else a 400 (the field is null: it is the whole body)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "request body is not valid JSON", None) from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", None)
    return data


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
