"""How a run may talk to a hub it does not own: rate, budgets, retries, methods, dry run.

Every request of a run - the suite's (hand-written and Schemathesis alike) and the
gate's (its checks, the smoke's writes, the preflight) - goes through one
``RequestPolicy``:

- a rate limit (``--rate-limit N/s``, default ``5/s`` for a live target; pyrate-limiter,
  which waits for the next slot);
- a request budget and a write budget; the request past either stops the run
  with a message naming the budget;
- on a live target, no method the contract does not declare for that path (a
  production hub that implements DELETE could lose data);
- ``--dry-run``: writes are listed, never sent;
- 429 and 503 answers are retried, honouring ``Retry-After`` (tenacity), within
  a bounded total wait; the last answer is returned when the wait is used up.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
)

from ihub_conformance.errors import ConformanceError, InputError

DEFAULT_LIVE_RATE = "5/s"
RETRY_STATUSES = frozenset({429, 503})
MAX_RETRIES = 4
MAX_RETRY_WAIT = 60.0  # seconds, all retries of one request together
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|m|h)\s*$")
_UNITS = {"s": "SECOND", "m": "MINUTE", "h": "HOUR"}

Answer = TypeVar("Answer")


class BudgetExhausted(ConformanceError):
    """A request or write budget ran out: the run stops here (exit 2)."""


class UndeclaredMethod(ConformanceError):
    """A live request with a method the contract does not declare for the path."""


class DryRunWrite(Exception):
    """A write a dry run lists instead of sending."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"dry run: {method} {path} not sent")
        self.method = method
        self.path = path


def parse_rate(text: str) -> tuple[int, str]:
    """``"5/s"`` -> (5, "SECOND"); a bad value is a usage error naming the option."""
    match = _RATE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise InputError("--rate-limit", f"{text!r} is not N/s, N/m or N/h with N >= 1")
    return int(match.group(1)), _UNITS[match.group(2)]


def retry_after(value: str | None, cap: float = MAX_RETRY_WAIT) -> float:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date)."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return 1.0
    return max(0.0, min(cap, seconds))


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")


@dataclass
class RequestPolicy:
    """The rules every request of one run follows (see the module docstring)."""

    rate: str | None = None
    max_requests: int | None = None
    max_writes: int | None = None
    dry_run: bool = False
    declared: dict[str, frozenset[str]] | None = None  # path template -> methods (live)
    max_retry_wait: float = MAX_RETRY_WAIT
    requests: int = 0
    writes: int = 0
    retries: int = 0
    planned: list[str] = field(default_factory=list)
    _limiter: Any = field(default=None, repr=False)
    _templates: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list,
                                                                      repr=False)

    def __post_init__(self) -> None:
        if self.rate:
            from pyrate_limiter import Duration, Limiter, Rate

            limit, unit = parse_rate(self.rate)
            self._limiter = Limiter(Rate(limit, getattr(Duration, unit)))
        self._templates = [(_template(p), m) for p, m in (self.declared or {}).items()]

    def admit(self, method: str, path: str) -> None:
        """Count one request about to be sent, or refuse it (budget, method, dry run)."""
        method = method.upper()
        if self._templates:
            allowed = next((m for rx, m in self._templates if rx.match(path)), None)
            if allowed is not None and method not in allowed:
                raise UndeclaredMethod(f"{method} {path}: the contract declares only "
                                       f"{', '.join(sorted(allowed))} here; not sent to a live hub")
        if method in WRITE_METHODS:
            if self.dry_run:
                self.planned.append(f"{method} {path}")
                raise DryRunWrite(method, path)
            if self.max_writes is not None and self.writes >= self.max_writes:
                raise BudgetExhausted(f"write budget exhausted: --max-writes {self.max_writes} "
                                      f"reached before {method} {path}; the run stops here")
        if self.max_requests is not None and self.requests >= self.max_requests:
            raise BudgetExhausted(f"request budget exhausted: --max-requests "
                                  f"{self.max_requests} reached before {method} {path}; "
                                  "the run stops here")
        if self._limiter is not None:
            self._limiter.try_acquire("hub")
        self.requests += 1
        if method in WRITE_METHODS:
            self.writes += 1

    def send(self, method: str, path: str, call: Callable[[], Answer],
             status: Callable[[Answer], int], header: Callable[[Answer, str], str | None]
             ) -> Answer:
        """Admit and send one request; retry a 429/503 after its Retry-After."""
        def wait(state: RetryCallState) -> float:
            answer = state.outcome.result() if state.outcome else None
            left = max(0.0, self.max_retry_wait - state.seconds_since_start)
            return retry_after(header(answer, "Retry-After") if answer is not None else None,
                               left)

        def attempt() -> Answer:
            self.admit(method, path)
            return call()

        retrying = Retrying(
            retry=retry_if_result(lambda answer: status(answer) in RETRY_STATUSES),
            wait=wait, stop=stop_any(stop_after_attempt(MAX_RETRIES + 1),
                                     stop_after_delay(self.max_retry_wait)),
            retry_error_callback=lambda state: state.outcome.result(), reraise=True,
            before_sleep=lambda _state: self._note_retry(),
        )
        return retrying(attempt)

    def _note_retry(self) -> None:
        self.retries += 1


def declared_methods(openapi: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Path template -> the methods the OpenAPI document declares for it."""
    verbs = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {path: frozenset(m.upper() for m in item if m in verbs)
            for path, item in (openapi.get("paths") or {}).items()}


def check_budget(option: str, value: int | None) -> None:
    """A budget below 0 is a usage error, named by the option that set it."""
    if value is not None and value < 0:
        raise InputError(option, "must be at least 0")


def policy_for(live: bool, contract: str, *, rate: str | None = None,
               max_requests: int | None = None, max_writes: int | None = None,
               dry_run: bool = False) -> RequestPolicy:
    """The policy of one run (suite or gate): a live target gets the conservative rate
    by default and only the methods the contract declares."""
    declared = None
    if live:
        from ihub_conformance.contract.openapi import bundle_openapi

        declared = declared_methods(bundle_openapi(contract))
    return RequestPolicy(rate=rate or (DEFAULT_LIVE_RATE if live else None),
                         max_requests=max_requests, max_writes=max_writes, dry_run=dry_run,
                         declared=declared)


def summarise_planned(planned: Iterable[str]) -> list[str]:
    """``POST /api/v2/widgets`` x3 style lines, in first-seen order."""
    counts: dict[str, int] = {}
    for line in planned:
        counts[line] = counts.get(line, 0) + 1
    return [f"{line} x{n}" if n > 1 else line for line, n in counts.items()]
