"""What every check reads: the configuration, the hub client (under the run's request
policy) and shared lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ihub_conformance.contract.assumptions import Assumptions
from ihub_conformance.gate.inputs import MappingInput
from ihub_conformance.gate.k8s import RuntimeManifests
from ihub_conformance.gate.model import DEFAULT_REQUIRED, WriteLog
from ihub_conformance.hub.client import InterHubClient
from ihub_conformance.hub.policy import RequestPolicy


@dataclass
class GateConfig:
    """Inputs of one gate run (the CLI fills this; tests may build it directly)."""

    target: str = "reference"
    key_env: str = "OPS_HUB_KEY"
    mapping: str | None = None
    runtime_manifests: list[str] = field(default_factory=list)
    scan_repos: list[str] = field(default_factory=list)
    scan_exclude: list[str] = field(default_factory=list)  # globs: no token scan (key still)
    state_hub: str | None = None
    required: tuple[str, ...] = DEFAULT_REQUIRED
    allow_writes: bool = False
    report_dir: Path | None = Path("reports/gate")
    contract: str = "v1"
    assumptions_file: str | None = None
    cassette_dirs: list[str] = field(default_factory=list)
    # the request policy (hub/policy.py), the same options as `run`'s
    rate_limit: str | None = None  # None: the default for the target
    max_requests: int | None = None
    max_writes: int | None = None
    dry_run: bool = False


@dataclass
class GateContext:
    config: GateConfig
    assumptions: Assumptions
    run_id: str
    writes: WriteLog
    mapping: MappingInput | None = None
    manifests: RuntimeManifests | None = None
    client: InterHubClient | None = None
    policy: RequestPolicy = field(default_factory=RequestPolicy)  # every request's rules
    target_mode: str = "live"
    target_url: str | None = None
    key: str | None = None
    allow_writes: bool = False
    state_hub_url: str | None = None
    authenticated: bool = False
    consumer: dict[str, Any] | None = None
    runtime_config_status: str | None = None  # gate 5's verdict, read beside the fallback
    manifest: dict[str, Any] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def hub_slug(self) -> str:
        return str(self.assumptions.get("vocabulary.hub_slug"))

    def api(self) -> InterHubClient:
        if self.client is None:  # a programming error, not a user one
            raise RuntimeError("no hub client")
        return self.client

    def cached(self, name: str, load: Callable[[], Any]) -> Any:
        """Load a hub list once per run (gates 2, 3, 6 and drift share them)."""
        if name not in self._cache:
            self._cache[name] = load()
        return self._cache[name]

    def all_rows(self, list_name: str) -> list[dict[str, Any]]:
        return self.cached(list_name, lambda: list(self.api().list_all(list_name)))


def describe_http_error(exc: Exception) -> str:
    """A one-line description of a transport or decode failure (no URL query, no key)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} on {exc.request.url.path}"
    return f"{type(exc).__name__}"
