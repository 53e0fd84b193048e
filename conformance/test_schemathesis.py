"""Property-based checks generated from contracts/<version>/openapi.yaml by Schemathesis.

Every operation is called with schema-valid (positive) and schema-breaking
(negative) data and every answer goes through all of Schemathesis's checks:
no server errors, documented status codes, content types and headers, response
bodies against the response schemas, negative data rejected, positive data
accepted, and authentication not ignored.

Bounded and reproducible: a fixed seed (``--ihub-seed N``, ``run --seed N``),
deterministic generation, no example database; ``--ihub-schemathesis-examples N``
(default 10) raises the budget per operation. Every call goes through the run's
request policy (rate limit, budgets, retries on 429/503, counted in the report).
Against a live hub no undeclared method is generated (Schemathesis's
unsupported-method probes send DELETE, PUT and PATCH, which a production hub that
implements them would act on); the reference hub still gets them. Skipped in
replay and record mode (generated requests are not cassette material). Read-only
runs leave the POST operations out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
from schemathesis.openapi.checks import JsonSchemaError, MissingHeaders, UndefinedStatusCode

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.contract.openapi import bundle_openapi
from ihub_conformance.suite.attribution import AssumptionMismatch, unverifiable
from ihub_conformance.suite.plugin import active_state
from ihub_conformance.suite.safety import DEFAULT_SEED
from ihub_conformance.suite.session import HubSession

PROBE = "ops_inventory_probe"
# Which requirements an operation's checks speak for (failures name these ids), by the
# register's path names (the dialect decides the paths themselves).
REQUIREMENTS_BY_NAME = {
    ("GET", "widgets"): ("WID-01", "WID-02"),
    ("POST", "widgets"): ("WID-03", "WID-04"),
    ("GET", "widget"): ("WID-01", "WID-04"),
    ("GET", "widget_versions"): ("WID-01", "WID-09"),
    ("GET", "interaction_events"): ("EVT-01", "EVT-02"),
    ("POST", "interaction_events"): ("EVT-05", "EVT-08"),
    ("GET", "event_types"): ("EVT-09",),
    ("GET", "widget_types"): ("WID-07",),
    ("GET", "policy_scopes"): ("WID-08",),
    ("GET", "hubs"): ("WID-03",),
    ("GET", "manifest"): ("EVT-10", "GATE-02"),
    ("GET", "consumer"): ("EVT-10",),
    ("GET", "openapi"): ("ACS-03",),
}


def _register() -> Assumptions:
    suite = active_state()
    if suite is None:
        return load_assumptions()
    return load_assumptions(suite.contract, suite.assumptions_file)


REGISTER = _register()
PROGRESS_PATH = str(REGISTER.get("state_hub.path"))
OPERATION_REQUIREMENTS = {
    (method, REGISTER.get(f"paths.{name}")): ids
    for (method, name), ids in REQUIREMENTS_BY_NAME.items()
} | {("GET", PROGRESS_PATH): ("FBK-02",)}


def _statuses(*specs: Any) -> list[str] | None:
    """Status specs as Schemathesis expected statuses; None when one allows any 4xx
    (then a check built on them cannot tell a right answer from a wrong one)."""
    out: list[str] = []
    for spec in specs:
        if not isinstance(spec, int | list):
            return None
        out += [str(code) for code in (spec if isinstance(spec, list) else [spec])]
    return sorted(set(out))


def _checks(asm: Assumptions) -> dict[str, Any]:
    """Schemathesis's checks as the register allows them. The answer to an undeclared HTTP
    method is something neither the source nor the register says: that check is off."""
    rejections = asm.values["status"]["rejections"]
    checks: dict[str, Any] = {"unsupported_method": {"enabled": False},
                              "allow_header_conformance": {"enabled": False}}
    # Positive data may name a hub, widget or type that does not exist (unknown_reference)
    positive = _statuses(rejections["unauthorized"], rejections["not_found"],
                         rejections["unknown_reference"], 429)
    if positive is None:
        checks["positive_data_acceptance"] = {"enabled": False}
    else:
        checks["positive_data_acceptance"] = {"expected-statuses": ["2xx", "409", *positive]}
    negative = _statuses(*(rejections[case] for case in rejections))
    if negative is None:
        checks["negative_data_rejection"] = {"expected-statuses": ["4xx"]}
    else:
        checks["negative_data_rejection"] = {"expected-statuses": negative}
    return checks


def _schema() -> schemathesis.schemas.BaseSchema:
    suite = active_state()
    examples = suite.examples if suite else 10
    version = suite.contract if suite else "v1"
    live = suite is not None and suite.target not in ("reference", "replay")
    config = SchemathesisConfig.from_dict({
        "seed": suite.seed if suite else DEFAULT_SEED,
        "generation": {
            "max-examples": examples, "deterministic": True, "database": "none",
            # The contract does not refuse unknown query parameters (HTTP servers ignore
            # them), and the key is supplied per call: neither is negative data here.
            "allow-extra-parameters": False, "with-security-parameters": False,
        },
        "checks": _checks(REGISTER),
        "suppress-health-check": ["too_slow", "filter_too_much"],
        # Live hubs: only the methods the contract declares for each path.
        **({"phases": {"coverage": {"unexpected-methods": []}}} if live else {}),
    })
    schema = schemathesis.openapi.from_dict(bundle_openapi(version, REGISTER), config=config)
    if suite is not None and not suite.allow_writes:
        schema = schema.exclude(method="POST")
    return schema


schema = _schema()


def _attribute(group: FailureGroup, status: int) -> None:
    """Failures only of what the register chose are an assumption mismatch, not a broken
    requirement: an undocumented 2xx/4xx status (ASM-05/06), a missing rate-limit header
    (ASM-11), the shape of an error body (ASM-04)."""
    failures = list(group.exceptions)
    kinds = {_register_kind(failure, status) for failure in failures}
    if not failures or None in kinds:
        return
    first = failures[0]
    asm = _register_kind(first, status)
    if isinstance(first, UndefinedStatusCode):
        expected: Any = first.defined_status_codes
    elif isinstance(first, MissingHeaders):
        expected = first.missing_headers
    elif status < 300:
        expected = "the resource shape the register guesses"
    else:
        expected = "the register's error body"
    raise AssumptionMismatch(str(asm), expected, status,
                             f"{first.operation}: {type(first).__name__}")


def _page_parameter_pattern() -> re.Pattern[str]:
    pag = REGISTER.values["pagination"]
    names = "|".join(re.escape(str(pag[k])) for k in ("page_param", "size_param"))
    return re.compile(rf"parameter `({names})` in query")


_PAGE_PARAMETER = _page_parameter_pattern()


LIST_OPERATIONS = {f"GET {REGISTER.get(f'paths.{name}')}" for name in (
    "widgets", "interaction_events", "widget_versions", "event_types", "widget_types",
    "policy_scopes", "hubs")}


# The resource each operation answers (rows of a list, or the one resource): the register
# entry named in its `shapes` guessed that shape (ASM-06/08/09/10), the source names none.
_ANSWER_KINDS = {"widgets": "widget-resource", "widget": "widget-resource",
                 "interaction_events": "event-resource", "widget_versions": "widget-version",
                 "event_types": "registry-entry", "widget_types": "registry-entry",
                 "policy_scopes": "registry-entry", "hubs": "hub", "consumer": "consumer"}
SHAPE_OWNERS = {f"{method} {REGISTER.get(f'paths.{name}')}": REGISTER.shape_owner(
    _ANSWER_KINDS[name]) for method, name in REQUIREMENTS_BY_NAME if name in _ANSWER_KINDS}


def _is_envelope(failure: JsonSchemaError) -> bool:
    where = list(failure.instance_path)
    meta = REGISTER.get("pagination.meta_key")
    return failure.operation in LIST_OPERATIONS and (
        len(where) <= 1 or (meta is not None and where[0] == meta))


def _register_kind(failure: Exception, status: int) -> str | None:
    if isinstance(failure, UndefinedStatusCode) and status < 500:
        return "ASM-06" if status < 300 else "ASM-05"
    if isinstance(failure, MissingHeaders):
        return "ASM-11"
    if isinstance(failure, JsonSchemaError) and 400 <= status < 500:
        return "ASM-04"
    if isinstance(failure, JsonSchemaError) and status < 300 and _is_envelope(failure):
        return "ASM-03"  # the list page around the rows
    if isinstance(failure, JsonSchemaError) and status < 300:
        return SHAPE_OWNERS.get(failure.operation)  # the rows or resource: a guessed shape
    if isinstance(failure, AcceptedNegativeData) and _PAGE_PARAMETER.search(str(failure)):
        return "ASM-02"  # an out-of-range page parameter served: its names and bounds
    return None


@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case, hub: HubSession) -> None:
    if hub.mode in ("replay", "record"):
        pytest.skip(f"schemathesis tests need a live or reference target, not {hub.mode}")
    target = hub
    if case.body is not None and isinstance(case.body, dict) and "name" in case.body \
            and isinstance(case.body["name"], str):
        # Whatever a generated request writes carries the run id in its name.
        case.body["name"] = target.widget_name(case.body["name"])[:256]
    base_url = target.base_url
    if case.path == PROGRESS_PATH:
        state_hub = hub.assumptions.get("state_hub.url")
        if hub.mode == "live":  # never probe the State Hub path on the hub's own host
            if not state_hub:
                unverifiable("no State Hub URL (set values.state_hub.url in --assumptions)")
            base_url = str(state_hub).rstrip("/")
        # The document gives GET /progress/ the probe list's schema (state-hub-progress),
        # but a State Hub records other event types too: only the fallback query itself
        # (event_type=ops_inventory_probe) is held to it. test_fallback checks the rest.
        case.query = {**(case.query or {}), "event_type": PROBE}
    headers = target.client.auth() if case.path != PROGRESS_PATH else {}
    with _policed(case, target):
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        try:
            case.validate_response(response, headers=headers)
        except FailureGroup as group:
            _attribute(group, response.status_code)
            raise
    if case.method == "POST" and 200 <= response.status_code < 300:
        target.note_written("widget" if case.path.endswith("widgets") else "interaction-event",
                            response, str((case.body or {}).get("name", case.path)))


@contextmanager
def _policed(case: schemathesis.Case, target: HubSession) -> Iterator[None]:
    """Every request of this example - the case's and those its checks send (the auth
    probes drop any session we pass) - through the run's policy: counted, rate-limited,
    retried. A context manager, not monkeypatch: Hypothesis reruns the test body."""
    transport = case.operation.schema.transport
    original = transport.send

    def send(probe: schemathesis.Case, **kwargs: object) -> object:
        return target.send(probe.method, probe.formatted_path,
                           functools.partial(original, probe, **kwargs), lambda r: r.status_code,
                           lambda r, name: (r.headers.get(name.lower()) or [None])[0])

    transport.send = send
    try:
        yield
    finally:
        del transport.send  # the class's own method again
