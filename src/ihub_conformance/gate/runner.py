"""One gate run: resolve inputs, open the target, run every check, settle the verdict.

Offline checks (gate 5, the scans of gate 4) run first; then gate 4's key check
decides whether the hub checks can run at all. An unreachable target blocks
the remaining hub checks and makes the run exit 3. Every request (the preflight's,
the checks', the smoke's writes, the State Hub read) goes through one request
policy (hub/policy.py) and is counted in the report; a budget that runs out blocks
the checks not yet run and makes the run exit 2, its writes so far listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ConformanceError,
    TargetUnreachable,
)
from ihub_conformance.gate import _deps
from ihub_conformance.gate.api_health import check_api_health
from ihub_conformance.gate.context import GateConfig, GateContext, describe_http_error
from ihub_conformance.gate.fallback import check_fallback, decision
from ihub_conformance.gate.inputs import MappingInput, resolve_mapping
from ihub_conformance.gate.k8s import load_runtime_manifests
from ihub_conformance.gate.key_custody import check_key_custody, tracked_files
from ihub_conformance.gate.manifest import check_manifest
from ihub_conformance.gate.model import (
    ALL_CHECKS,
    DRIFT,
    FALLBACK,
    GATE_IDS,
    PASS,
    CheckOutcome,
    WriteLog,
)
from ihub_conformance.gate.runtime_config import check_runtime_config, runtime_mapping
from ihub_conformance.gate.seed_widgets import check_seed_widgets
from ihub_conformance.gate.smoke import check_smoke
from ihub_conformance.gate.vocabulary_drift import check_vocabulary_drift
from ihub_conformance.hub.calibration import register_contradiction
from ihub_conformance.hub.client import InterHubClient, redact_url
from ihub_conformance.hub.policy import BudgetExhausted, DryRunWrite, RequestPolicy, policy_for
from ihub_conformance.hub.preflight import KeyRefused, preflight
from ihub_conformance.hub.run_id import new_run_id
from ihub_conformance.hub.target import (
    REFERENCE,
    REPLAY,
    Target,
    check_url,
    key_from_env,
    open_target,
)
from ihub_conformance.hub.target import parse_target_spec as _parse_target

# Bounded and prompt: a dead target is reported (exit 3) within the connect timeout.
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_HUB_CHECKS: tuple[tuple[str, Callable[[GateContext], CheckOutcome]], ...] = (
    ("4", check_key_custody),  # first: it decides whether the key authenticates
    ("2", check_manifest),  # before 1 and 6: they type their widgets from it
    ("3", check_seed_widgets),
    ("1", check_api_health),
    ("6", check_smoke),
    (DRIFT, check_vocabulary_drift),
)


@dataclass
class GateResult:
    run_id: str
    started_at: str
    finished_at: str
    target_mode: str
    target_url: str | None
    read_only: bool
    required: tuple[str, ...]
    outcomes: dict[str, CheckOutcome]
    writes: WriteLog
    mapping_source: str | None
    inputs: dict[str, object]
    unreachable: str | None = None
    stopped: str | None = None  # a request or write budget ran out
    contradiction: str | None = None  # the hub's first answer contradicts the register
    requests: dict[str, Any] = field(default_factory=dict)  # what the policy counted
    report_paths: list[Path] = field(default_factory=list)
    # kept only to scrub outputs; never serialised, never in repr
    key: str | None = field(default=None, repr=False)

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return EXIT_UNREACHABLE
        if self.stopped:
            return EXIT_USAGE
        failing = [o for o in self.outcomes.values() if o.required and o.status != PASS]
        return EXIT_FINDINGS if failing else EXIT_OK

    @property
    def verdict(self) -> str:
        return "go" if self.exit_code == EXIT_OK else "no-go"

    def ordered(self) -> list[CheckOutcome]:
        return [self.outcomes[i] for i in ALL_CHECKS if i in self.outcomes]


@contextmanager
def _open(config: GateConfig) -> Iterator[Target]:
    spec = _parse_target(config.target)
    if spec == REPLAY:
        raise ConformanceError("--target replay: the gate needs a hub (reference or a URL)")
    if spec == REFERENCE:
        # the embedded hub speaks the dialect of --assumptions, like the gate's client
        register = load_assumptions(config.contract, config.assumptions_file)
        with open_target(REFERENCE, key_env=config.key_env, assumptions=register) as target:
            yield target
        return
    # a live target without a key is gate 4's finding, not a usage error
    yield Target(mode="live", url=spec.rstrip("/"),
                 key=key_from_env(config.key_env, required=False))


def _guarded(check: Callable[[GateContext], CheckOutcome], ctx: GateContext,
             gate_id: str) -> CheckOutcome:
    """Run one check; a transport or decode failure is that gate's failure, not a crash."""
    try:
        return check(ctx)
    except (TargetUnreachable, BudgetExhausted):
        raise
    except DryRunWrite as planned:  # the check cannot go on without its write
        return CheckOutcome(gate_id).block(f"dry run: {planned.method} {planned.path} not "
                                           "sent, and the check needs it")
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        out = CheckOutcome(gate_id)
        out.fail("a request failed or did not decode", ctx.target_url or "target",
                 "answers that decode", describe_http_error(exc))
        return out.settle("")


def _preflight(target: Target, assumptions: Assumptions, key_env: str,
               policy: RequestPolicy) -> str | None:
    """A live target must answer like an Inter-Hub before any gate runs (exit 2 / 3);
    the line saying its first answer contradicts the register, if it does.

    A refused key is gate 4's finding (with its evidence in the report), not a stop.
    """
    if target.mode == REFERENCE or not target.url:
        return None
    found = register_contradiction(target.url, target.key, assumptions, policy=policy)
    with suppress(KeyRefused):
        preflight(target.url, target.key, assumptions, key_env=key_env, policy=policy)
    return found.line if found else None


@dataclass
class _HubRun:
    """How the hub checks ended: all run, or cut short (unreachable, budget spent)."""

    unreachable: str | None = None
    stopped: str | None = None
    contradiction: str | None = None

    @property
    def reason(self) -> str | None:
        """Why the checks not run are blocked."""
        if self.unreachable:
            return f"target unreachable: {self.unreachable}"
        return f"stopped: {self.stopped}" if self.stopped else None


def _run_hub_checks(ctx: GateContext, target: Target,
                    outcomes: dict[str, CheckOutcome]) -> _HubRun:
    """The preflight, then every hub check in order, all under the run's policy."""
    ended = _HubRun()
    ctx.client = InterHubClient(target.url or "", ctx.key, ctx.assumptions, timeout=TIMEOUT,
                                policy=ctx.policy)
    try:
        ended.contradiction = _preflight(target, ctx.assumptions, ctx.config.key_env,
                                         ctx.policy)
        for gate_id, check in _HUB_CHECKS:
            outcomes[gate_id] = _guarded(check, ctx, gate_id)
    except TargetUnreachable as exc:
        ended.unreachable = str(exc)
    except BudgetExhausted as exc:
        ended.stopped = str(exc)
    finally:
        ctx.client.close()
    for gate_id, _ in _HUB_CHECKS:
        if ended.reason:
            outcomes.setdefault(gate_id, CheckOutcome(gate_id).block(ended.reason))
    ctx.runtime_config_status = outcomes["5"].status
    try:
        if ended.stopped:
            raise BudgetExhausted(ended.stopped)
        outcomes[FALLBACK] = check_fallback(ctx)
    except BudgetExhausted as exc:
        ended.stopped = str(exc)
        outcomes[FALLBACK] = CheckOutcome(FALLBACK).block(f"stopped: {exc}")
    return ended


def _policy(config: GateConfig, target: Target) -> RequestPolicy:
    return policy_for(target.mode != REFERENCE, config.contract, rate=config.rate_limit,
                      max_requests=config.max_requests, max_writes=config.max_writes,
                      dry_run=config.dry_run)


def _load_mapping(config: GateConfig, ctx: GateContext) -> MappingInput | None:
    mapping = resolve_mapping(config.mapping)
    if mapping is None and ctx.manifests is not None:
        mapping = runtime_mapping(ctx.manifests)
    return mapping


def run_gate(config: GateConfig) -> GateResult:
    """Run the gate; raises ConformanceError for usage/input errors (exit 2)."""
    started = datetime.now(UTC)
    assumptions = load_assumptions(config.contract, config.assumptions_file)
    _deps.vocabulary(config.contract)  # an unknown contract version is a usage error, early
    for repo in config.scan_repos:
        tracked_files(repo)  # fail fast (exit 2) on a path that is not a work tree
    run_id = new_run_id("gate")
    ctx = GateContext(config=config, assumptions=assumptions, run_id=run_id,
                      writes=WriteLog(run_id))
    if config.runtime_manifests:
        ctx.manifests = load_runtime_manifests(config.runtime_manifests)
    ctx.mapping = _load_mapping(config, ctx)
    outcomes: dict[str, CheckOutcome] = {}
    with _open(config) as target:
        ctx.target_mode, ctx.target_url, ctx.key = target.mode, target.url, target.key
        ctx.allow_writes = config.allow_writes or target.mode == REFERENCE
        ctx.state_hub_url = config.state_hub or assumptions.get("state_hub.url") or (
            target.url if target.mode == REFERENCE else None)
        if ctx.state_hub_url:
            check_url(ctx.state_hub_url, "--state-hub" if config.state_hub else "state_hub.url")
        outcomes["5"] = check_runtime_config(ctx)
        ctx.policy = _policy(config, target)
        ended = _run_hub_checks(ctx, target, outcomes)
    for gate_id, outcome in outcomes.items():
        outcome.required = gate_id in config.required
    gates_pass = all(outcomes[g].status == PASS for g in GATE_IDS if g in config.required)
    fb = outcomes[FALLBACK]
    fb.details["decision"] = decision(fb.status, int(fb.details.get("events", 0)), gates_pass)
    return GateResult(
        run_id=run_id, started_at=_iso(started), finished_at=_iso(datetime.now(UTC)),
        target_mode=ctx.target_mode, target_url=target.display_url,
        read_only=not ctx.allow_writes, required=config.required, outcomes=outcomes,
        writes=ctx.writes, mapping_source=ctx.mapping.source if ctx.mapping else None,
        inputs={"runtimeManifests": list(config.runtime_manifests),
                "scanRepos": list(config.scan_repos),
                "stateHub": ctx.state_hub_url and redact_url(ctx.state_hub_url),
                "contract": config.contract, "keyEnv": config.key_env},
        unreachable=ended.unreachable, stopped=ended.stopped,
        contradiction=ended.contradiction, requests=_counted(ctx.policy), key=ctx.key,
    )


def _counted(policy: RequestPolicy) -> dict[str, Any]:
    """Every request the gate sent (retries included), its writes, and a dry run's plan."""
    return {"total": policy.requests, "retries": policy.retries, "writes": policy.writes,
            "plannedWrites": list(policy.planned)}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
