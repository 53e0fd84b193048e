"""The request policy: rate limit, budgets, dry run, declared methods, retries on 429/503."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
import pytest

from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.errors import InputError
from ihub_conformance.hub.policy import (
    BudgetExhausted,
    DryRunWrite,
    RequestPolicy,
    UndeclaredMethod,
    parse_rate,
    retry_after,
)
from ihub_conformance.suite.session import HubSession


@dataclass
class Script:
    """A hub that answers from a list of (status, Retry-After) and records the calls."""

    answers: list[tuple[int, str | None]]
    calls: list[float] = field(default_factory=list)

    def __call__(self) -> tuple[int, str | None]:
        self.calls.append(time.monotonic())
        return self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]


def _send(policy: RequestPolicy, script: Script, method: str = "GET",
          path: str = "/api/v2/widgets") -> tuple[int, str | None]:
    return policy.send(method, path, script, lambda a: a[0],
                       lambda a, name: a[1] if name == "Retry-After" else None)


def test_a_429_is_retried_after_its_retry_after():
    script = Script([(429, "1"), (200, None)])
    policy = RequestPolicy()
    assert _send(policy, script)[0] == 200
    assert len(script.calls) == 2 and script.calls[1] - script.calls[0] >= 0.95
    assert policy.retries == 1 and policy.requests == 2


def test_a_503_is_retried_and_the_total_wait_is_bounded():
    script = Script([(503, "100")])
    policy = RequestPolicy(max_retry_wait=1.5)
    started = time.monotonic()
    assert _send(policy, script)[0] == 503  # the last answer, once the wait is used up
    assert time.monotonic() - started < 3
    assert len(script.calls) >= 2


def test_other_statuses_are_not_retried():
    script = Script([(500, "1")])
    assert _send(RequestPolicy(), script)[0] == 500 and len(script.calls) == 1


@pytest.mark.parametrize(("value", "seconds"), [("2", 2.0), ("0", 0.0), ("junk", 1.0),
                                                (None, 1.0), ("9999", 60.0)])
def test_retry_after_values(value, seconds):
    assert retry_after(value) == seconds


def test_the_rate_limit_spaces_requests():
    policy = RequestPolicy(rate="4/s")
    script = Script([(200, None)])
    started = time.monotonic()
    for _ in range(6):
        _send(policy, script)
    assert time.monotonic() - started >= 0.4  # 6 requests at 4/s cannot fit in one second


@pytest.mark.parametrize("text", ["0/s", "5", "5/x", "-1/s", ""])
def test_a_bad_rate_is_a_usage_error(text):
    with pytest.raises(InputError, match="--rate-limit"):
        parse_rate(text)


def test_the_request_budget_stops_before_the_next_request():
    policy = RequestPolicy(max_requests=2)
    script = Script([(200, None)])
    _send(policy, script)
    _send(policy, script)
    with pytest.raises(BudgetExhausted, match="--max-requests 2"):
        _send(policy, script)
    assert len(script.calls) == 2


def test_the_write_budget_counts_writes_only():
    policy = RequestPolicy(max_writes=1)
    script = Script([(201, None)])
    _send(policy, script, "POST")
    _send(policy, script, "GET")
    with pytest.raises(BudgetExhausted, match="--max-writes 1"):
        _send(policy, script, "POST")
    assert len(script.calls) == 2


def test_a_dry_run_lists_writes_and_sends_none():
    policy = RequestPolicy(dry_run=True)
    script = Script([(201, None)])
    with pytest.raises(DryRunWrite):
        _send(policy, script, "POST")
    _send(policy, script, "GET")
    assert policy.planned == ["POST /api/v2/widgets"] and len(script.calls) == 1


def test_an_undeclared_method_is_never_sent():
    policy = RequestPolicy(declared={"/api/v2/widgets/{id}": frozenset({"GET"})})
    script = Script([(200, None)])
    with pytest.raises(UndeclaredMethod, match="declares only GET"):
        _send(policy, script, "DELETE", "/api/v2/widgets/abc")
    _send(policy, script, "GET", "/api/v2/widgets/abc")
    assert len(script.calls) == 1


def test_the_suite_session_retries_through_the_policy():
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}),
                    httpx.Response(200, json={"data": []})])
    transport = httpx.MockTransport(lambda request: next(answers))
    session = HubSession(mode="live", base_url="http://hub.invalid", key="k" * 20,
                         unbound_key=None, assumptions=load_assumptions(), contract="v1",
                         run_id="r", allow_writes=False)
    from ihub_conformance.hub.client import InterHubClient

    session._client = InterHubClient("http://hub.invalid", session.key, session.assumptions,
                                     transport=transport, policy=session.policy)
    assert session.get("/api/v2/widgets").status_code == 200
    assert session.requests == 2 and session.policy.retries == 1
