"""Fixtures of the Inter-Hub conformance suite.

Run it with ``ihub-conformance run`` (reports and verdict) or directly::

    pytest conformance/                                   # against the reference hub
    OPS_HUB_KEY=... pytest conformance/ --ihub-target https://hub.example --ihub-allow-writes
    pytest conformance/ --ihub-target replay              # offline, from fixtures/cassettes/v1

The options are documented by ``pytest --help`` under "Inter-Hub conformance suite".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ihub_conformance._paths import contracts_dir
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.errors import ConformanceError
from ihub_conformance.hub.client import redact_url
from ihub_conformance.hub.run_id import new_run_id
from ihub_conformance.hub.target import open_target
from ihub_conformance.suite import recording
from ihub_conformance.suite.attribution import unverifiable
from ihub_conformance.suite.plugin import requirement_ids, state
from ihub_conformance.suite.safety import build_policy
from ihub_conformance.suite.session import (
    HubSession,
    fixed_clock,
    replay_credentials,
)

HERE = Path(__file__).resolve().parent
# Tests that talk to a hub with their own HTTP stack instead of HubSession; they
# are not recorded (and skip in replay and record mode).
UNRECORDED_MODULES = {"test_schemathesis.py"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    suite = state(config)
    missing = []
    for item in items:
        if not Path(str(item.path)).resolve().is_relative_to(HERE):
            continue
        _mark_operation(item)
        if not requirement_ids(item):
            missing.append(item.nodeid)
        if suite.mode in ("record", "replay") and item.path.name not in UNRECORDED_MODULES:
            item.add_marker(pytest.mark.vcr)
    if missing:
        raise pytest.UsageError(
            "every conformance test needs @pytest.mark.requirement(...): " + ", ".join(missing)
        )


def _mark_operation(item: pytest.Item) -> None:
    """Schemathesis makes one test per operation: mark it with that operation's ids."""
    table = getattr(getattr(item, "module", None), "OPERATION_REQUIREMENTS", None)
    if table is None or "[" not in item.name:
        return
    method, _, path = item.name.split("[", 1)[1].rstrip("]").partition(" ")
    ids = table.get((method, path))
    if ids:
        item.add_marker(pytest.mark.requirement(*ids))


def _open(stack: ExitStack, config: pytest.Config) -> HubSession:
    suite = state(config)
    try:
        assumptions = load_assumptions(suite.contract, suite.assumptions_file)
        if suite.mode == "replay":
            directory = recording.cassette_dir(suite.contract, suite.cassette_dir)
            meta = recording.read_meta(directory, suite.contract)
            key, unbound = replay_credentials(meta.unbound_key)
            url, display, run_id = recording.PLACEHOLDER_ORIGIN, None, recording.RECORDING_RUN_ID
            # Replay can only repeat the writes that were recorded.
            suite.allow_writes = meta.allow_writes
        else:
            spec = suite.target
            target = stack.enter_context(
                open_target(spec, key_env=suite.key_env, faults=suite.faults,
                            assumptions=assumptions)
            )
            key, unbound, url = target.key, target.unbound_key, str(target.url)
            display, run_id = redact_url(url), new_run_id("run")
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    suite.secrets = [s for s in (key, unbound) if s and suite.mode != "replay"]
    return HubSession(
        mode=suite.mode, base_url=url, key=key, unbound_key=unbound, assumptions=assumptions,
        contract=suite.contract, run_id=run_id, allow_writes=suite.allow_writes,
        clock=fixed_clock(suite.mode), display_url=display,
        policy=build_policy(config, suite.mode, suite.contract),
    )


@pytest.fixture(scope="session")
def hub(pytestconfig: pytest.Config) -> Iterator[HubSession]:
    """The hub under test for the whole session (started here for the reference target)."""
    suite = state(pytestconfig)
    with ExitStack() as stack:
        session = _open(stack, pytestconfig)
        suite.session = session
        stack.callback(session.close)
        if suite.mode in ("record", "replay"):
            # Requests of session-scoped fixtures go to one session cassette; each
            # test's own requests to its per-test cassette (pytest-recording).
            directory = recording.cassette_dir(suite.contract, suite.cassette_dir)
            vcr = recording.make_vcr(directory, session.assumptions.get("auth.header"))
            stack.enter_context(vcr.use_cassette(
                recording.SESSION_CASSETTE, **_vcr_options(suite, session)
            ))
        yield session
    if suite.mode == "record":
        recording.write_meta(
            recording.cassette_dir(suite.contract, suite.cassette_dir),
            contract=suite.contract,
            recorded_from="reference" if suite.target == "reference" else "live",
            unbound_key=bool(session.unbound_key),
            allow_writes=session.allow_writes,
        )


def _vcr_options(suite: Any, session: HubSession) -> dict[str, Any]:
    return recording.vcr_options(
        mode=suite.mode,
        key=session.key if suite.mode == "record" else None,
        unbound_key=session.unbound_key if suite.mode == "record" else None,
        run_id=session.run_id,
    )


@pytest.fixture
def vcr_config(pytestconfig: pytest.Config, hub: HubSession) -> dict[str, Any]:
    """pytest-recording: scrub credentials, match on method/path/query/body/credential."""
    return _vcr_options(state(pytestconfig), hub)


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    suite = state(request.config)
    directory = recording.cassette_dir(suite.contract, suite.cassette_dir)
    return str(directory / Path(str(request.node.path)).stem)


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest, vcr: Any) -> None:
    """Tell the session which test (and cassette) its requests belong to."""
    session = state(request.config).session
    if session is not None:
        session.current_test = request.node.nodeid
        session.current_cassette = getattr(vcr, "_path", None) if vcr is not None else None


# -- what the hub says about itself (read-only, shared) ----------------------------------


@pytest.fixture(scope="session")
def hub_slug(hub: HubSession) -> str:
    return str(hub.assumptions.get("vocabulary.hub_slug"))


@pytest.fixture(scope="session")
def hub_record(hub: HubSession, hub_slug: str) -> dict[str, Any]:
    """The ops-hub: the bound consumer's hub (GET /api/v2/consumer), named by GET /api/v2/hubs.

    The consumer read comes first so a broken hub list (a pagination fault) fails
    the pagination tests, not every test that creates a widget. A hub without these
    reads (ASM-10) has the override file's stand-ins.
    """
    consumer = hub.consumer()
    hub_id = consumer.get("hubId") or hub.assumptions.get("stand_ins.hub_id")
    if not hub.assumptions.has_endpoint("hubs"):
        if not hub_id:
            unverifiable("the hub has no hubs list and the register gives no stand_ins.hub_id")
        return {"id": hub_id, "slug": hub_slug}
    rows = [row for row in hub.rows("hubs") if row.get("id") == hub_id]
    if rows and rows[0].get("slug") != hub_slug:
        pytest.fail(f"the key's consumer belongs to hub {rows[0].get('slug')!r}, "
                    f"not {hub_slug!r}", pytrace=False)
    return rows[0] if rows else {"id": hub_id, "slug": hub_slug}


@pytest.fixture(scope="session")
def manifest(hub: HubSession, hub_slug: str) -> dict[str, Any]:
    """The ops-hub's active manifest (or the register's stand-in for it)."""
    return hub.manifest(hub_slug)


@pytest.fixture(scope="session")
def a_widget_id(hub: HubSession) -> str:
    """Any widget on the hub (read-only runs cannot create one)."""
    rows = hub.expect_page(hub.page("widgets", size=1), "widget-resource")
    return rows[0]["id"] if rows else "00000000-0000-4000-8000-000000000101"


@pytest.fixture(scope="session")
def registry(hub: HubSession) -> dict[str, set[str]]:
    """Names in the event-type, widget-type and policy-scope registries."""
    if not hub.assumptions.has_endpoint("registries"):
        unverifiable("the hub has no registry reads (values.endpoints.registries: false)")
    return {
        name: {row["name"] for row in hub.rows(name)}
        for name in ("event_types", "widget_types", "policy_scopes")
    }


@pytest.fixture(scope="session")
def declared_event_types(manifest: dict[str, Any]) -> list[str]:
    return list(manifest["eventTypes"])


@pytest.fixture(scope="session")
def vocabulary(hub: HubSession) -> dict[str, Any]:
    """The contract's live vocabulary (contracts/<version>/vocabulary/ops-hub.json)."""
    path = contracts_dir() / hub.contract / "vocabulary" / "ops-hub.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def undeclared_event_types(registry: dict[str, set[str]], manifest: dict[str, Any],
                           vocabulary: dict[str, Any]) -> list[str]:
    """Registered in event_type_registry but not declared by the bound manifest.

    Never a deferred type (ops-access-path-checked): the suite must not write one to a
    hub, not even by accident of a hub that wrongly accepts it (VOC-04, VOC-13, FBK-04).
    """
    deferred = set(vocabulary.get("deferred", ()))
    return sorted(registry["event_types"] - set(manifest["eventTypes"]) - deferred)


# -- objects this run writes (shared where tests stay independent) -----------------------


@pytest.fixture(scope="session")
def events_widget(hub: HubSession, hub_record: dict[str, Any],
                  manifest: dict[str, Any]) -> dict[str, Any]:
    """A widget of this run that the event tests post to (nothing else writes to it)."""
    return hub.create_widget(
        "events", hub_record["id"], _pick(manifest["widgetTypes"], "ops-endpoint"),
        policyScope=_pick(manifest["policyScopes"], "ops-production"),
        viewContext="ihub-conformance")


def _pick(choices: list[str], preferred: str) -> str:
    return preferred if preferred in choices else choices[0]
