"""The type registries and the active ops-hub manifest hold the live vocabulary.

What the hub reads (GET /api/v2/event-types, /widget-types, /policy-scopes and
/hubs/{slug}/manifest) is compared with contracts/<version>/vocabulary/ops-hub.json.
"""

from __future__ import annotations

import pytest

from ihub_conformance.suite.attribution import expect_assumption, unverifiable
from ihub_conformance.suite.session import NAME_PREFIX, HubSession

requirement = pytest.mark.requirement


@requirement("WID-07", "WID-08", "EVT-09")
@pytest.mark.parametrize("name", ["event_types", "widget_types", "policy_scopes"])
def test_registry_rows_are_well_formed(hub: HubSession, name: str) -> None:
    hub.require_read(name)
    rows = hub.expect_page(hub.page(name, size=int(hub.assumptions.get("pagination.max_size"))),
                           "registry-entry")
    assert rows, f"the {name} registry is empty"
    names = [row["name"] for row in rows]
    assert len(names) == len(set(names)), f"{name}: duplicate names"


@requirement("VOC-10", "EVT-09")
def test_event_type_registry_holds_the_live_event_types(registry: dict,
                                                       vocabulary: dict) -> None:
    missing = sorted(set(vocabulary["eventTypes"]) - registry["event_types"])
    assert not missing, f"not in event_type_registry: {missing}"


@requirement("VOC-09", "WID-07")
def test_widget_type_registry_holds_the_live_widget_types(registry: dict,
                                                         vocabulary: dict) -> None:
    missing = sorted(set(vocabulary["widgetTypes"]) - registry["widget_types"])
    assert not missing, f"not in the widget-type registry: {missing}"


@requirement("VOC-08", "VOC-14", "WID-08")
def test_policy_scope_registry_holds_the_live_scopes(registry: dict, vocabulary: dict,
                                                     manifest: dict) -> None:
    missing = sorted(set(vocabulary["policyScopes"]) - registry["policy_scopes"])
    assert not missing, f"not in the policy-scope registry: {missing}"
    for scope in vocabulary["notSeeded"]["policyScopes"]:
        if scope not in manifest["policyScopes"]:
            assert scope not in registry["policy_scopes"], f"{scope} is seeded"


@requirement("GATE-02", "EVT-10")
@pytest.mark.assumption("ASM-16")
def test_manifest_declares_the_live_vocabulary(hub: HubSession, manifest: dict,
                                               vocabulary: dict, hub_slug: str) -> None:
    """Gate 2: the first-slice event types, "the selected widget types, the annotation
    category, and the policy scope" - a selection, so neither every live widget type nor
    ops-risk ("when needed", VOC-12) nor every scope is required."""
    assert manifest["hub"] == hub_slug
    assert manifest["status"] == "active"
    required = hub.assumptions.get("vocabulary.required_event_types")
    missing = sorted(set(required) - set(manifest["eventTypes"]))
    assert not missing, f"first-slice event types not declared: {missing}"
    assert set(manifest["widgetTypes"]) & set(vocabulary["widgetTypes"]), \
        "no live widget type selected"
    assert set(manifest["policyScopes"]) & set(vocabulary["policyScopes"]), \
        "no live policy scope declared"
    assert manifest["annotationCategories"], "no annotation category declared"
    category = hub.assumptions.get("vocabulary.annotation_category")  # a register name
    expect_assumption("ASM-16", category in manifest["annotationCategories"],
                      expected=category, observed=manifest["annotationCategories"])


@requirement("GATE-02", "VOC-07")
def test_manifest_declares_no_early_proposal_names(manifest: dict, vocabulary: dict) -> None:
    early = set(vocabulary["aliases"])
    assert not early & set(manifest["eventTypes"]), "early event-type names declared"
    assert not early & set(manifest["widgetTypes"]), "early widget-type names declared"
    # a declared ops-evidence scope is the explicit expansion VOC-14 allows, not a defect


@requirement("GATE-02")
def test_manifest_vocabulary_is_registered(manifest: dict, registry: dict) -> None:
    assert not sorted(set(manifest["eventTypes"]) - registry["event_types"])
    assert not sorted(set(manifest["widgetTypes"]) - registry["widget_types"])
    assert not sorted(set(manifest["policyScopes"]) - registry["policy_scopes"])


@requirement("VOC-16")
@pytest.mark.assumption("ASM-09")
@pytest.mark.parametrize("name", ["event_types", "widget_types", "policy_scopes"])
def test_a_public_registry_read_lists_the_same_vocabulary(hub: HubSession, registry: dict,
                                                          name: str) -> None:
    """Production shows "public registry vocabulary": answering a read without a key is
    no authentication defect, but what is answered must be the registry itself."""
    public: set[str] = set()
    for response, view in hub.pages(name, key=None):
        if response.status_code in (401, 403):
            # Whether this hub's registry reads are public is a register value (ASM-09).
            expect_assumption("ASM-09", hub.assumptions.needs_key(name),
                              expected=f"{name} answered without a key",
                              observed=response.status_code, detail="auth.public_reads")
            unverifiable(f"{name}: this hub keeps registry reads behind the key "
                         "(auth.public_reads); production's public registry reads cannot be "
                         "observed here")
        assert view is not None, f"anonymous {name} read: {response.status_code}"
        public |= {row.get("name") for row in view.rows}
    assert public == registry[name], \
        f"anonymous {name} read differs: only public {sorted(public - registry[name])}, " \
        f"only authenticated {sorted(registry[name] - public)}"


@requirement("VOC-16")
def test_the_hub_list_has_an_ops_hub_row(hub: HubSession, hub_slug: str) -> None:
    hub.require_read("hubs")
    slugs = [row.get("slug") for row in hub.rows("hubs")]
    assert slugs.count(hub_slug) == 1, f"GET hubs lists {slugs.count(hub_slug)} {hub_slug} rows"


def _written_by_a_test_run(event: dict) -> bool:
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    return str(metadata.get("context_key", "")).startswith(NAME_PREFIX)


@requirement("VOC-04", "VOC-13", "FBK-04")
def test_no_access_path_widget_type_is_registered(registry: dict, vocabulary: dict) -> None:
    """Read-only: "no live access-path event or widget type"."""
    found = sorted(name for name in registry["widget_types"] if "access-path" in name)
    assert not found, f"access-path widget types registered while deferred: {found}"


@requirement("VOC-04", "VOC-13", "FBK-04")
def test_no_deferred_event_reaches_the_hub(hub: HubSession, vocabulary: dict) -> None:
    """Read-only: access-path evidence stays on the State Hub fallback; the hub holds no
    such event except one a test run wrote (tagged with its context key)."""
    for event_type in vocabulary["deferred"]:
        rows = hub.rows("interaction_events", params={"eventType": event_type})
        foreign = [row.get("id") for row in rows if row.get("eventType") == event_type
                   and not _written_by_a_test_run(row)]
        assert not foreign, f"{len(foreign)} {event_type} event(s) on the hub: {foreign[:5]}"
