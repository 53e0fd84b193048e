"""Fixtures shared by the project's tests: a reference hub per module, and the gate's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gate_helpers import canary_key, use_key
from ihub_conformance.reference.server import RunningHub, running_reference_hub


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    """The default reference hub, one per test module so modules share no state."""
    with running_reference_hub() as running:
        yield running


@pytest.fixture
def http(hub: RunningHub) -> Iterator[httpx.Client]:
    """A client authenticated as the bound consumer."""
    with hub.client() as client:
        yield client


@pytest.fixture(scope="module")
def gate_hub() -> Iterator[RunningHub]:
    """A reference hub with a canary key, which a gate run must never print or write."""
    with running_reference_hub(key=canary_key()) as running:
        yield running


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, gate_hub: RunningHub) -> RunningHub:
    """The gate hub, its key in OPS_HUB_KEY and no mapping in the environment."""
    use_key(monkeypatch, gate_hub.key)
    return gate_hub
