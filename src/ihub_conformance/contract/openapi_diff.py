"""Changes between two OpenAPI documents: operations, parameters, bodies, answers, security.

Schemas the document takes from the schema files by ``$ref`` are compared where they
are defined (the schema comparison); here only the reference itself is compared.
Inline schemas are compared with `schema_diff` and classified by the evolution module
as requests or answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ihub_conformance.contract import schema_diff as sd
from ihub_conformance.contract.roles import REQUEST, RESPONSE

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
CONSUMER, PROVIDER, COMPATIBLE, DOCUMENTATION = (
    "breaking-consumer", "breaking-provider", "compatible", "documentation")


@dataclass(frozen=True)
class OpenApiFinding:
    """One change; ``effect`` and ``role`` set when a schema edit decides its class."""

    location: str
    change: str
    old: Any
    new: Any
    change_class: str = COMPATIBLE
    reason: str = ""
    effect: str | None = None
    role: str = REQUEST


def _local(document: dict[str, Any], node: Any) -> Any:
    """Follow local ``#/...`` references (parameters, responses, components)."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) \
            and node["$ref"].startswith("#/") and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target: Any = document
        for token in node["$ref"][2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            target = target.get(token) if isinstance(target, dict) else None
        node = target
    return node


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path, item in ((document or {}).get("paths") or {}).items():
        item = _local(document, item) or {}
        for method in METHODS:
            if isinstance(item.get(method), dict):
                found[f"{method.upper()} {path}"] = {
                    **item[method], "_path_parameters": item.get("parameters") or []}
    return found


def diff_openapi(old: dict[str, Any], new: dict[str, Any]) -> Iterator[OpenApiFinding]:
    """Every change from ``old`` to ``new``."""
    before, after = _operations(old), _operations(new)
    for name in sorted(set(before) | set(after), key=str):
        if name not in after:
            yield OpenApiFinding(name, "operation removed", name, None, CONSUMER,
                                 "activity-core's requests to it are refused")
        elif name not in before:
            yield OpenApiFinding(name, "operation added", None, name, PROVIDER,
                                 "a hub must now serve it")
        else:
            yield from _operation(name, old, new, before[name], after[name])
    yield from _security_schemes(old, new)
    yield from _documentation(old, new)


def _operation(name: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
               before: dict[str, Any], after: dict[str, Any]) -> Iterator[OpenApiFinding]:
    yield from _parameters(name, old_doc, new_doc, before, after)
    yield from _request_body(name, old_doc, new_doc, before.get("requestBody"),
                             after.get("requestBody"))
    yield from _responses(name, old_doc, new_doc, before.get("responses") or {},
                          after.get("responses") or {})
    old_security = before.get("security", old_doc.get("security"))
    new_security = after.get("security", new_doc.get("security"))
    if old_security != new_security:
        removed = not new_security
        yield OpenApiFinding(f"{name} security", "security changed", old_security,
                             new_security, COMPATIBLE if removed else CONSUMER,
                             "no credential needed any more" if removed
                             else "requests authenticated the old way are refused")
    for key in ("summary", "description", "operationId", "tags"):
        if before.get(key) != after.get(key):
            yield OpenApiFinding(f"{name} {key}", f"{key} changed", before.get(key),
                                 after.get(key), DOCUMENTATION)


def _parameter_map(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for raw in [*operation["_path_parameters"], *(operation.get("parameters") or [])]:
        parameter = _local(document, raw) or {}
        found[f"{parameter.get('in')}:{parameter.get('name')}"] = parameter
    return found


def _parameters(name: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
                before: dict[str, Any], after: dict[str, Any]) -> Iterator[OpenApiFinding]:
    old_params, new_params = _parameter_map(old_doc, before), _parameter_map(new_doc, after)
    for key in sorted(set(old_params) | set(new_params), key=str):
        where = f"{name} parameter {key}"
        old, new = old_params.get(key), new_params.get(key)
        if new is None:
            yield OpenApiFinding(where, "parameter removed", key, None, CONSUMER,
                                 "requests using it lose its meaning")
        elif old is None:
            required = bool(new.get("required"))
            yield OpenApiFinding(where, "required parameter added" if required
                                 else "optional parameter added", None, key,
                                 CONSUMER if required else COMPATIBLE,
                                 "requests without it are refused" if required else "")
        else:
            yield from _parameter(where, old_doc, new_doc, old, new)


def _parameter(where: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
               old: dict[str, Any], new: dict[str, Any]) -> Iterator[OpenApiFinding]:
    if bool(old.get("required")) != bool(new.get("required")):
        now = bool(new.get("required"))
        yield OpenApiFinding(where, "parameter now required" if now else "parameter optional",
                             old.get("required", False), new.get("required", False),
                             CONSUMER if now else COMPATIBLE,
                             "requests without it are refused" if now else "")
    yield from _schema(f"{where} schema", old_doc, new_doc, old.get("schema"),
                       new.get("schema"), REQUEST)
    if old.get("description") != new.get("description"):
        yield OpenApiFinding(where, "description changed", old.get("description"),
                             new.get("description"), DOCUMENTATION)


def _request_body(name: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
                  before: Any, after: Any) -> Iterator[OpenApiFinding]:
    before, after = _local(old_doc, before) or {}, _local(new_doc, after) or {}
    if bool(before.get("required")) != bool(after.get("required")) or (before and not after):
        now = bool(after.get("required"))
        yield OpenApiFinding(f"{name} requestBody", "request body now required" if now
                             else "request body optional or removed", before.get("required"),
                             after.get("required"), CONSUMER if now or not after else
                             COMPATIBLE)
    yield from _content(f"{name} requestBody", old_doc, new_doc, before.get("content") or {},
                        after.get("content") or {}, REQUEST)


def _content(where: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
             before: dict[str, Any], after: dict[str, Any], role: str
             ) -> Iterator[OpenApiFinding]:
    for media in sorted(set(before) | set(after), key=str):
        at = f"{where} {media}"
        if media not in after:
            yield OpenApiFinding(at, "media type removed", media, None,
                                 CONSUMER if role == REQUEST else PROVIDER,
                                 "bodies of this type are refused" if role == REQUEST
                                 else "a hub answering it no longer conforms")
        elif media not in before:
            yield OpenApiFinding(at, "media type added", None, media,
                                 PROVIDER if role == RESPONSE else COMPATIBLE,
                                 "clients of the old contract cannot read it"
                                 if role == RESPONSE else "")
        else:
            yield from _schema(f"{at} schema", old_doc, new_doc,
                               (before[media] or {}).get("schema"),
                               (after[media] or {}).get("schema"), role)


def _responses(name: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
               before: dict[str, Any], after: dict[str, Any]) -> Iterator[OpenApiFinding]:
    for status in sorted(set(map(str, before)) | set(map(str, after))):
        where = f"{name} response {status}"
        old = _local(old_doc, before.get(status, before.get(_int(status))))
        new = _local(new_doc, after.get(status, after.get(_int(status))))
        if new is None:
            yield OpenApiFinding(where, "response removed", status, None, PROVIDER,
                                 "a hub answering it no longer conforms")
        elif old is None:
            yield OpenApiFinding(where, "response added", None, status, PROVIDER,
                                 "the hub may now answer what clients of the old contract "
                                 "cannot read")
        else:
            yield from _headers(where, old_doc, new_doc, old.get("headers") or {},
                                new.get("headers") or {})
            yield from _content(where, old_doc, new_doc, old.get("content") or {},
                                new.get("content") or {}, RESPONSE)
            if old.get("description") != new.get("description"):
                yield OpenApiFinding(where, "description changed", old.get("description"),
                                     new.get("description"), DOCUMENTATION)


def _int(status: str) -> Any:
    return int(status) if status.isdigit() else status


def _headers(where: str, old_doc: dict[str, Any], new_doc: dict[str, Any],
             before: dict[str, Any], after: dict[str, Any]) -> Iterator[OpenApiFinding]:
    for header in sorted(set(before) | set(after), key=str):
        at = f"{where} header {header}"
        if header not in after:
            yield OpenApiFinding(at, "header removed", header, None, PROVIDER,
                                 "clients reading it find it missing")
        elif header not in before:
            required = bool((_local(new_doc, after[header]) or {}).get("required"))
            yield OpenApiFinding(at, "required header added" if required else "header added",
                                 None, header, PROVIDER if required else COMPATIBLE,
                                 "a new required behaviour of the hub" if required
                                 else "optional: the hub may send it")
        else:
            yield from _header_required(at, _local(old_doc, before[header]) or {},
                                        _local(new_doc, after[header]) or {})
            yield from _schema(f"{at} schema", old_doc, new_doc,
                               (_local(old_doc, before[header]) or {}).get("schema"),
                               (_local(new_doc, after[header]) or {}).get("schema"), RESPONSE)


def _header_required(where: str, old: dict[str, Any],
                     new: dict[str, Any]) -> Iterator[OpenApiFinding]:
    if bool(old.get("required")) != bool(new.get("required")):
        now = bool(new.get("required"))
        yield OpenApiFinding(where, "header now required" if now else "header now optional",
                             old.get("required", False), new.get("required", False),
                             PROVIDER, "a hub that omitted it no longer conforms" if now
                             else "clients relying on it may find it missing")


def _schema(where: str, old_doc: dict[str, Any], new_doc: dict[str, Any], before: Any,
            after: Any, role: str) -> Iterator[OpenApiFinding]:
    # Follow local component references; a $ref into a schema file stays a reference
    # (that file is compared on its own).
    before = _local(old_doc, before)
    after = _local(new_doc, after)
    for edit in sd.diff_schema(before, after):
        yield OpenApiFinding(f"{where}{edit.pointer}", edit.change, edit.old, edit.new,
                             reason=edit.detail, effect=edit.effect, role=role)


def _security_schemes(old: dict[str, Any], new: dict[str, Any]) -> Iterator[OpenApiFinding]:
    before = ((old.get("components") or {}).get("securitySchemes")) or {}
    after = ((new.get("components") or {}).get("securitySchemes")) or {}
    for name in sorted(set(before) | set(after), key=str):
        old_scheme = {k: v for k, v in (before.get(name) or {}).items() if k != "description"}
        new_scheme = {k: v for k, v in (after.get(name) or {}).items() if k != "description"}
        if old_scheme != new_scheme:
            yield OpenApiFinding(f"security scheme {name}", "security scheme changed",
                                 old_scheme or None, new_scheme or None,
                                 CONSUMER if old_scheme else COMPATIBLE,
                                 "requests sending the credential the old way are refused"
                                 if old_scheme else "")
        elif before.get(name) != after.get(name):
            yield OpenApiFinding(f"security scheme {name}", "description changed",
                                 before[name].get("description"),
                                 after[name].get("description"), DOCUMENTATION)


def _documentation(old: dict[str, Any], new: dict[str, Any]) -> Iterator[OpenApiFinding]:
    for key in ("info", "tags", "servers", "externalDocs"):
        if old.get(key) != new.get(key):
            yield OpenApiFinding(key, f"{key} changed", None, None, DOCUMENTATION)
