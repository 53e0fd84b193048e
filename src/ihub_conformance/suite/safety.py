"""The suite's production-safety options and the request policy they build.

``--ihub-rate-limit N/s`` (default 5/s on a live target, none on the reference
hub), ``--ihub-max-requests N``, ``--ihub-max-writes N``, ``--ihub-dry-run`` and
``--ihub-seed N`` (Schemathesis's seed, printed with every run). See
``ihub_conformance.hub.policy`` for what each does.
"""

from __future__ import annotations

import pytest

from ihub_conformance.errors import ConformanceError
from ihub_conformance.hub.policy import DEFAULT_LIVE_RATE, RequestPolicy, check_budget, policy_for

DEFAULT_SEED = 20260627


def add_options(group: pytest.OptionGroup) -> None:
    group.addoption("--ihub-rate-limit", default=None, metavar="N/s",
                    help=f"request rate limit (N/s, N/m or N/h; default {DEFAULT_LIVE_RATE} "
                    "for a live target, none for the reference hub)")
    group.addoption("--ihub-max-requests", type=int, default=None, metavar="N",
                    help="stop the run before request N+1 (Schemathesis's included)")
    group.addoption("--ihub-max-writes", type=int, default=None, metavar="N",
                    help="stop the run before write N+1")
    group.addoption("--ihub-dry-run", action="store_true", default=False,
                    help="list the writes a run would send, send none")
    group.addoption("--ihub-seed", type=int, default=DEFAULT_SEED, metavar="N",
                    help=f"Schemathesis / Hypothesis seed (default {DEFAULT_SEED})")


def build_policy(config: pytest.Config, mode: str, contract: str) -> RequestPolicy:
    """The policy of this session: live targets get the conservative defaults."""
    live = mode in ("live", "record") and config.getoption("--ihub-target") != "reference"
    try:
        for name in ("--ihub-max-requests", "--ihub-max-writes"):
            check_budget(name, config.getoption(name))
        return policy_for(live, contract, rate=config.getoption("--ihub-rate-limit"),
                          max_requests=config.getoption("--ihub-max-requests"),
                          max_writes=config.getoption("--ihub-max-writes"),
                          dry_run=bool(config.getoption("--ihub-dry-run")))
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
