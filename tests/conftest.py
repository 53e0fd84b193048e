"""Fixtures shared by the project's tests: a reference hub per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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
