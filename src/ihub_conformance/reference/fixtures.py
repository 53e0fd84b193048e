"""The `ihub_reference` pytest fixture, exported by the ihub_conformance pytest plugin.

Any project with ihub-conformance installed (activity-core first) can write::

    def test_posts_evidence(ihub_reference):
        with ihub_reference.client() as http:      # Authorization: Bearer <key> already set
            r = http.post("/api/v2/interaction-events", json={...})
            assert r.status_code == 201

One hub per test session (seeded from fixtures/seed/ops-hub.yaml, in-memory
SQLite); tests share its data, so filter by the ids your test created. The keys
are $OPS_HUB_KEY / $IHUB_UNBOUND_KEY when set, else generated. For an isolated
hub (own seed, own data, fault switches) use
``ihub_conformance.reference.server.running_reference_hub(...)`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ihub_conformance.reference.server import RunningHub


@pytest.fixture(scope="session")
def ihub_reference() -> Iterator[RunningHub]:
    """A running reference Inter-Hub: ``base_url``, ``key`` (manifest-bound consumer
    activity-core), ``unbound_key`` (ops-console) and ``client()`` (an authed httpx.Client)."""
    # Imported here: the plugin loads in every pytest session of every project that
    # installs ihub-conformance, and most never start a hub.
    from ihub_conformance.reference.server import running_reference_hub

    with running_reference_hub() as hub:
        yield hub
