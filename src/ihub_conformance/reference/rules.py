"""Request rules of the source document: field shapes (400) before references (422).

Each check names the offending field. Faults (faults.py) switch single rules off.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ihub_conformance.reference.http import ApiError, check_depth
from ihub_conformance.reference.store import Store

WIDGET_STATUSES = ("active", "deprecated", "draft")
_OPTIONAL_WIDGET_TEXT = ("capabilityRef", "viewContext", "adapterSpecId")


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _required_text(body: Mapping[str, Any], field: str) -> str:
    """A required string with at least one non-blank character (NonEmptyString)."""
    if field not in body or body[field] is None:
        raise ApiError(400, f"{field} is required", field)
    value = body[field]
    if not isinstance(value, str):
        raise ApiError(400, f"{field} must be a string", field)
    if not value.strip():
        raise ApiError(400, f"{field} must not be blank", field)
    return value


def _optional_text(body: Mapping[str, Any], field: str) -> str | None:
    """An optional string or null; an empty string is refused (NullableString)."""
    value = body.get(field)
    if value is not None and (not isinstance(value, str) or not value):
        raise ApiError(400, f"{field} must be a non-empty string or null", field)
    return value


def _uuid_field(body: Mapping[str, Any], field: str) -> str:
    value = _required_text(body, field)
    if not is_uuid(value):
        raise ApiError(400, f"{field} must be a UUID", field)
    return value.lower()


def widget_fields(body: Mapping[str, Any], store: Store, faults: frozenset[str]
                  ) -> dict[str, Any]:
    """The stored fields of a widget create request, or an ApiError."""
    hub_id = _uuid_field(body, "hubId")
    if "accept_missing_widget_name" in faults and body.get("name") in (None, ""):
        name = body.get("name")
    else:
        name = _required_text(body, "name")
    widget_type = _required_text(body, "widgetType")
    optional = {field: _optional_text(body, field) for field in _OPTIONAL_WIDGET_TEXT}
    if "drop_optional_widget_fields" in faults:
        optional = dict.fromkeys(_OPTIONAL_WIDGET_TEXT)
    scope = _optional_text(body, "policyScope")
    if scope is None:
        scope = "public" if "default_scope_public" in faults else "internal"
    status = body.get("status", "active")
    if not isinstance(status, str):
        raise ApiError(400, "status must be one of active, deprecated, draft", "status")
    if status not in WIDGET_STATUSES and "accept_invalid_status" not in faults:
        raise ApiError(400, "status must be one of active, deprecated, draft", "status")
    # Shapes are fine: now the references (422).
    if not store.hub_exists(hub_id) and "accept_unknown_hub" not in faults:
        raise ApiError(422, f"hub {hub_id} does not exist", "hubId")
    adapter = optional["adapterSpecId"]  # a foreign key (ASM-20): any text naming no row
    if adapter is not None and not (is_uuid(adapter) and store.adapter_spec_exists(adapter)):
        raise ApiError(422, "adapterSpecId names no adapter spec", "adapterSpecId")
    if (not store.registry_has("widget_types", widget_type)
            and "accept_unknown_widget_type" not in faults):
        raise ApiError(422, f"widget type {widget_type!r} is not registered", "widgetType")
    if (not store.registry_has("policy_scopes", scope)
            and "accept_unknown_policy_scope" not in faults
            and not (scope == "public" and "default_scope_public" in faults)):
        raise ApiError(422, f"policy scope {scope!r} is not registered", "policyScope")
    return {"hubId": hub_id, "name": name, "widgetType": widget_type,
            "capabilityRef": optional["capabilityRef"], "viewContext": optional["viewContext"],
            "policyScope": scope, "status": status, "adapterSpecId": optional["adapterSpecId"]}


def event_fields(body: Mapping[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """Shape checks (400) of an interaction event create request."""
    if "accept_missing_widget_id" in faults and body.get("widgetId") is None:
        widget_id = None
    else:
        widget_id = _uuid_field(body, "widgetId")
    event_type = _required_text(body, "eventType")
    view_context = _optional_text(body, "viewContext")
    if view_context is None and "require_view_context" in faults:
        raise ApiError(400, "viewContext is required", "viewContext")
    metadata = body.get("metadata")
    if ("metadata" in body and not isinstance(metadata, dict)
            and "accept_non_object_metadata" not in faults):
        raise ApiError(400, "metadata must be a JSON object", "metadata")
    check_depth({"metadata": metadata})
    if isinstance(metadata, dict) and "drop_observed_at" in faults:
        attributes = metadata.get("attributes")
        if isinstance(attributes, dict):
            metadata = dict(metadata, attributes={
                k: v for k, v in attributes.items() if k != "observed_at"})
    occurred_at = None
    if "honour_client_occurred_at" in faults and isinstance(body.get("occurredAt"), str):
        occurred_at = body["occurredAt"]
    return {
        "widgetId": widget_id, "eventType": event_type,
        "viewContextRef": None if "drop_view_context_ref" in faults else view_context,
        "metadata": metadata, "occurredAt": occurred_at,
        "actorType": "user" if "actor_type_user" in faults else "api",
    }  # the resource order of ASM-06 (createdAt is added by the store)


def event_references(fields: Mapping[str, Any], store: Store, manifest_id: str | None,
                     faults: frozenset[str]) -> ApiError | None:
    """The 422 an event's references earn, or None when the hub accepts it."""
    widget_id = fields["widgetId"]
    if (widget_id is not None and not store.widget_exists(widget_id)
            and "accept_unknown_widget" not in faults):
        return ApiError(422, f"widget {widget_id} does not exist", "widgetId")
    event_type = fields["eventType"]
    if (not store.registry_has("event_types", event_type)
            and "accept_unregistered_event_type" not in faults):
        return ApiError(422, f"event type {event_type!r} is not in event_type_registry",
                        "eventType")
    if manifest_id is not None and "accept_undeclared_event_type" not in faults:
        declared = store.manifest_event_types(manifest_id)
        if declared is not None and event_type not in declared:
            return ApiError(422, f"event type {event_type!r} is not declared by the manifest "
                            "bound to this consumer", "eventType")
    return None


def page_params(query: Mapping[str, str], *, page_param: str, size_param: str,
                default_size: int, max_size: int, first_page: int = 1) -> tuple[int, int]:
    """(page, pageSize) from the query string, refused naming the parameter when invalid."""
    page = _bounded_int(query, page_param, first_page, first_page, None)
    size = _bounded_int(query, size_param, default_size, 1, max_size)
    return page, size


def _bounded_int(query: Mapping[str, str], name: str, default: int, minimum: int,
                 maximum: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    bound = f"{minimum}..{maximum}" if maximum else f">= {minimum}"
    # Plain decimal digits only; the length bound keeps int() cheap on hostile input.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15 or int(raw) < minimum \
            or (maximum is not None and int(raw) > maximum):
        raise ApiError(400, f"{name} must be an integer {bound}", name, case="bad_page")
    return int(raw)
