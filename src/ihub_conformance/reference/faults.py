"""Fault switches: deliberate contract violations for mutation testing the suite.

Each fault is off by default and enabled per app instance
(``create_app(faults=...)``, ``ihub-conformance serve --fault NAME``). A fault
makes one observable violation of the contract; the conformance suite must
notice every one of them ("kill the mutant"). ``requirement_ids`` names the
requirements (contracts/v1/requirements.yaml) whose checks should fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ihub_conformance.contract.assumptions import Assumptions
from ihub_conformance.errors import ConformanceError


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    requirement_ids: tuple[str, ...]
    # Register entries whose guess the fault breaks: a mismatch on one of them is a kill.
    assumption_ids: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {
    "accept_undeclared_event_type": Fault(
        "accept_undeclared_event_type",
        "a manifest-bound consumer may post event types its manifest does not declare",
        ("EVT-10", "GATE-06"),
    ),
    "accept_unregistered_event_type": Fault(
        "accept_unregistered_event_type",
        "event types missing from event_type_registry are accepted (seen with the unbound "
        "consumer; the manifest check still refuses them for the bound one)",
        ("EVT-09",),
    ),
    "honour_client_occurred_at": Fault(
        "honour_client_occurred_at",
        "a client-sent occurredAt is stored instead of the server time",
        ("EVT-11",),
    ),
    "actor_type_user": Fault(
        "actor_type_user",
        "interaction events are stored with actorType 'user'",
        ("EVT-12",),
    ),
    "drop_view_context_ref": Fault(
        "drop_view_context_ref",
        "viewContext is not persisted: viewContextRef is null",
        ("EVT-07",),
    ),
    "default_scope_public": Fault(
        "default_scope_public",
        "a widget created without policyScope gets 'public' instead of 'internal'",
        ("WID-05",),
    ),
    "accept_invalid_status": Fault(
        "accept_invalid_status",
        "any widget status string is accepted",
        ("WID-06",),
    ),
    "accept_unknown_widget_type": Fault(
        "accept_unknown_widget_type",
        "widgetType is not validated against the registry",
        ("WID-07",),
    ),
    "accept_unknown_policy_scope": Fault(
        "accept_unknown_policy_scope",
        "policyScope is not validated against the registry",
        ("WID-08",),
    ),
    "ignore_widget_id_filter": Fault(
        "ignore_widget_id_filter",
        "the interaction-events widgetId filter is ignored",
        ("EVT-03",),
    ),
    "ignore_event_type_filter": Fault(
        "ignore_event_type_filter",
        "the interaction-events eventType filter is ignored",
        ("EVT-04",),
    ),
    "pagination_overlap": Fault(
        "pagination_overlap",
        "every page after the first repeats the last row of the previous page",
        ("WID-02", "EVT-02"),
    ),
    "pagination_drops_last": Fault(
        "pagination_drops_last",
        "the last row of every list is never returned",
        ("WID-02", "EVT-02"),
    ),
    "counts_as_strings": Fault(
        "counts_as_strings",
        "pagination counts are JSON strings (the COUNT(*) decoding bug of gate 1)",
        ("WID-02", "EVT-02", "GATE-01"),
    ),
    "skip_auth_on_lists": Fault(
        "skip_auth_on_lists",
        "GET lists answer without a key",
        ("WID-01", "EVT-01"),
    ),
    "accept_wrong_key": Fault(
        "accept_wrong_key",
        "any non-empty key authenticates (as the bound consumer)",
        ("WID-01", "EVT-01"),
    ),
    "echo_key": Fault(
        "echo_key",
        "the presented key is echoed in an X-Api-Key response header and in 401 messages",
        ("WID-01", "EVT-01", "SEC-01"),
    ),
    "bad_json_500": Fault(
        "bad_json_500",
        "a malformed JSON body is answered 500 instead of 400",
        ("WID-03", "EVT-08"),
    ),
    "no_widget_version": Fault(
        "no_widget_version",
        "widget creation makes no initial WidgetVersion",
        ("WID-09",),
    ),
    "drop_observed_at": Fault(
        "drop_observed_at",
        "metadata.attributes.observed_at is dropped when an event is stored",
        ("ACS-01",),
    ),
    "accept_non_object_metadata": Fault(
        "accept_non_object_metadata",
        "metadata that is not a JSON object is accepted",
        ("EVT-08",),
    ),
    "store_rejected_event": Fault(
        "store_rejected_event",
        "an event refused 422 for its event type is stored anyway (half-written)",
        ("EVT-09", "EVT-10"),
    ),
    "accept_missing_widget_name": Fault(
        "accept_missing_widget_name",
        "a widget without a name (or an empty one) is accepted",
        ("WID-03",),
    ),
    "no_rate_limit_headers": Fault(
        "no_rate_limit_headers",
        "X-RateLimit-* headers are missing",
        ("GATE-01",),
        ("ASM-11",),
    ),
    "accept_missing_widget_id": Fault(
        "accept_missing_widget_id",
        "an interaction event without widgetId is accepted",
        ("EVT-05",),
    ),
    "accept_form_metadata": Fault(
        "accept_form_metadata",
        "form-encoded POST bodies are accepted instead of 415",
        ("EVT-08",),
    ),
    "progress_leaks_secret": Fault(
        "progress_leaks_secret",
        "State Hub progress detail carries the consumer key in a request header copy",
        ("ACS-08", "FBK-02"),
    ),
    "drop_optional_widget_fields": Fault(
        "drop_optional_widget_fields",
        "capabilityRef, viewContext and adapterSpecId of a widget are not stored (null)",
        ("WID-04",),
    ),
    "require_view_context": Fault(
        "require_view_context",
        "an interaction event without viewContext is refused 400",
        ("EVT-06",),
    ),
    # Beyond the required list: other plausible regressions.
    "text_plain_answers": Fault(
        "text_plain_answers",
        "/api/v2 answers (errors included) carry Content-Type text/plain, not application/json",
        ("WID-01", "WID-02", "WID-03", "EVT-01", "EVT-02", "EVT-05"),
    ),
    "unknown_widget_200": Fault(
        "unknown_widget_200",
        "GET /api/v2/widgets/{id} of a widget that does not exist answers 200 null, not 404",
        ("WID-03",),
    ),
    "consumer_wrong_hub": Fault(
        "consumer_wrong_hub",
        "GET /api/v2/consumer answers the bound manifest's id as hubId (a column mix-up)",
        ("EVT-10",),
    ),
    "accept_unknown_widget": Fault(
        "accept_unknown_widget",
        "an interaction event naming a widget that does not exist is accepted",
        ("EVT-05",),
    ),
    "accept_unknown_hub": Fault(
        "accept_unknown_hub",
        "a widget naming a hub that does not exist is accepted",
        ("WID-03",),
    ),
    "created_200": Fault(
        "created_200",
        "POST answers 200 instead of 201",
        ("WID-03", "EVT-05"),
        ("ASM-06",),
    ),
    "no_body_cap": Fault(
        "no_body_cap",
        "bodies over 65536 bytes are accepted instead of 413",
        ("WID-03", "EVT-08"),
    ),
    "error_field_null": Fault(
        "error_field_null",
        "error bodies never name the offending field",
        ("WID-03", "EVT-05"),
        ("ASM-04",),
    ),
    "progress_oldest_first": Fault(
        "progress_oldest_first",
        "GET /progress/ answers oldest first",
        ("FBK-02",),
    ),
    "progress_ignores_limit": Fault(
        "progress_ignores_limit",
        "GET /progress/ ignores limit",
        ("FBK-02",),
    ),
    # Hubs that honour every source statement and differ from a register guess only: the
    # check must say "assumption mismatch", never "requirement broken".
    "snake_case_snapshot": Fault(
        "snake_case_snapshot",
        "the initial WidgetVersion's snapshot spells the widget's fields in snake_case "
        "(widget_type, policy_scope) - a snapshot still, not the register's spelling",
        ("WID-09",),
        ("ASM-08",),
    ),
    "widget_without_updated_at": Fault(
        "widget_without_updated_at",
        "widget answers carry no updatedAt (a record without that column) - the source names "
        "no resource shape, so only ASM-06's guess is contradicted",
        ("WID-03",),
        ("ASM-06",),
    ),
    "progress_any_limit": Fault(
        "progress_any_limit",
        "GET /progress/ answers any limit (0, 501, 'ten') instead of refusing it - the source "
        "gives only limit=20",
        ("FBK-02",),
        ("ASM-15",),
    ),
    "public_registry_partial": Fault(
        "public_registry_partial",
        "a registry read without a key lists only the names the active ops-hub manifest "
        "declares (a public view that is not the registry)",
        ("VOC-16",),
    ),
    "access_path_widget_type": Fault(
        "access_path_widget_type",
        "the widget-type registry offers ops-access-path although access-path evidence is "
        "deferred",
        ("VOC-04", "VOC-13", "FBK-04"),
    ),
    "access_path_event_held": Fault(
        "access_path_event_held",
        "the hub holds an ops-access-path-checked event that no test run wrote (access-path "
        "evidence left the State Hub fallback)",
        ("VOC-04", "VOC-13", "FBK-04"),
    ),
    "consumer_stale_manifest": Fault(
        "consumer_stale_manifest",
        "GET /api/v2/consumer answers the id of an earlier ops-hub manifest, not the active one "
        "(a binding never moved on activation)",
        ("EVT-10",),
    ),
    "progress_ignores_event_type": Fault(
        "progress_ignores_event_type",
        "GET /progress/ ignores event_type: the probe query answers other events too",
        ("FBK-02",),
    ),
}


def _counts_in_body(asm: Assumptions) -> bool:
    pag = asm.values["pagination"]
    return pag["shape"] == "envelope" and any(
        pag[key] for key in ("page_key", "size_key", "total_key", "pages_key"))


# What a fault needs of a dialect to be a fault at all: 200 on create is no fault where the
# register says 200, dropped rate-limit headers none where it names none, and so on.
_APPLIES: dict[str, Callable[[Assumptions], bool]] = {
    "created_200": lambda a: not (a.success_ok("create_widget", 200)
                                  and a.success_ok("create_event", 200)),
    "no_rate_limit_headers": lambda a: any(a.values["rate_limit"].values()),
    "error_field_null": lambda a: a.values["errors"]["shape"] != "string"
    and bool(a.values["errors"]["field_key"]),
    "counts_as_strings": _counts_in_body,
    "skip_auth_on_lists": lambda a: bool(a.get("auth.header")),
    "accept_wrong_key": lambda a: bool(a.get("auth.header")),
    "echo_key": lambda a: bool(a.get("auth.header")),
    "unknown_widget_200": lambda a: a.serves("widget"),
    "no_widget_version": lambda a: a.serves("widget_versions"),
    "snake_case_snapshot": lambda a: a.serves("widget_versions"),
    "public_registry_partial": lambda a: a.has_endpoint("registries")
    and bool(a.get("auth.header")) and not a.needs_key("event_types"),
    "access_path_widget_type": lambda a: a.has_endpoint("registries"),
    "consumer_stale_manifest": lambda a: a.serves("consumer") and a.serves("manifest"),
    "consumer_wrong_hub": lambda a: a.serves("consumer") and a.serves("hubs"),
    "no_body_cap": lambda a: a.get("limits.max_body_bytes") is not None,
    "accept_form_metadata": lambda a: a.get("status.rejections.unsupported_media_type") != "any",
}


def applies_in(name: str, asm: Assumptions) -> bool:
    """Whether fault ``name`` breaks anything in the dialect of ``asm``."""
    rule = _APPLIES.get(name)
    return rule is None or rule(asm)


def check_faults(names: Iterable[str]) -> frozenset[str]:
    """The set of fault names, refusing any that is not in FAULTS."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys())
    if unknown:
        raise ConformanceError(
            f"--fault: unknown fault {', '.join(unknown)} (known: {', '.join(sorted(FAULTS))})"
        )
    return chosen
