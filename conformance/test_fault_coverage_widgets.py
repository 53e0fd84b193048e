"""Registry checks that mutation testing found missing: every registered name is accepted.

The other registry tests accept the manifest's first widget type and one live scope
and refuse unknown names, so a hub that checked widget types against the manifest
(refusing the registered `generic-panel`) or refused the registered default scope
`internal` when sent explicitly passed them. Here every name the registries list
is posted once. `ihub-conformance mutants` runs the suite against such hubs.
"""

from __future__ import annotations

from typing import Any

import pytest

from ihub_conformance.suite.session import HubSession

requirement = pytest.mark.requirement


def _refused(hub: HubSession, hub_record: dict[str, Any], field: str, values: list[str],
             **fixed: str) -> list[str]:
    """Post one widget per value of ``field``; the values not stored as sent."""
    hub.require_writes()
    problems = []
    for value in values:
        name = hub.widget_name(f"registered-{field}-{value}")
        response = hub.post(hub.path("widgets"), json={
            "hubId": hub_record["id"], "name": name, **fixed, field: value})
        hub.note_written("widget", response, name)
        if response.status_code != 201:
            problems.append(f"{value!r}: {response.status_code} {response.text[:160]}")
        elif (stored := response.json().get(field)) != value:
            problems.append(f"{value!r}: stored as {stored!r}")
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
