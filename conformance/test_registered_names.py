"""Every name the type registries list is accepted on a widget and stored as sent.

"Widget type and policy scope are validated through the type registries": the
registries, not the manifest, decide. A hub checking widget types against the
manifest (refusing the registered `generic-panel`) or refusing the registered
default scope `internal` when sent explicitly fails here; test_widgets.py holds
the other side (unregistered names refused).
"""

from __future__ import annotations

from typing import Any

import pytest

from ihub_conformance.suite.attribution import expect_assumption
from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement
pytestmark = pytest.mark.assumption("ASM-06")


def _refused(hub: HubSession, hub_record: dict[str, Any], field: str, values: list[str],
             **fixed: str) -> list[str]:
    """Post one widget per value of ``field``; the values not stored as sent."""
    hub.require_writes()
    problems, other_success = [], set()
    for value in values:
        name = hub.widget_name(f"registered-{field}-{value}")
        response = hub.post(hub.path("widgets"), json={
            "hubId": hub_record["id"], "name": name, **fixed, field: value})
        hub.note_written("widget", response, name)
        code = response.status_code
        if not 200 <= code < 300:
            problems.append(f"{value!r}: {code} {response.text[:160]}")
        elif (stored := response.json().get(field)) != value:
            problems.append(f"{value!r}: stored as {stored!r}")
        elif not hub.assumptions.success_ok("create_widget", code):
            other_success.add(code)
    # Accepted with another 2xx than the register's: a guess of ours, checked after the
    # source's rule (every registered name accepted and stored) so it never hides one.
    if not problems:
        expect_assumption("ASM-06", not other_success,
                          expected=hub.assumptions.get("status.create_widget"),
                          observed=sorted(other_success), detail="POST /api/v2/widgets")
    return problems


@requirement("WID-07")
def test_every_registered_widget_type_is_accepted(hub: HubSession, hub_record: dict,
                                                  registry: dict) -> None:
    problems = _refused(hub, hub_record, "widgetType", sorted(registry["widget_types"]))
    assert not problems, "registered widget types refused: " + "; ".join(problems)


@requirement("WID-08")
def test_every_registered_policy_scope_is_accepted(hub: HubSession, hub_record: dict,
                                                   manifest: dict, registry: dict) -> None:
    problems = _refused(hub, hub_record, "policyScope", sorted(registry["policy_scopes"]),
                        widgetType=manifest["widgetTypes"][0])
    assert not problems, "registered policy scopes refused: " + "; ".join(problems)
