"""A bounded prober of a live hub, and what calibration learned from it.

Every request goes through :class:`Prober`: a request budget, a per-request
timeout, a minimum gap between requests, and the key sent only in the header the
probe chose. :class:`Calibration` holds each value found with its evidence (the
request, the status, the header or key that showed it), what could not be
determined and why, and the objects written (``--allow-writes`` only).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from ihub_conformance.errors import TargetUnreachable
from ihub_conformance.hub.client import redact_url

# One budget refusal for every bounded requester: the probe's own budget and deadline
# raise the policy's BudgetExhausted too (calibrate leaves the rest undetermined).
from ihub_conformance.hub.policy import BudgetExhausted, RequestPolicy

DEFAULT_BUDGET = 150
DEFAULT_TIMEOUT = 5.0
DEFAULT_DEADLINE = 300.0  # seconds for the whole probe, whatever the hub's pace
MIN_GAP_SECONDS = 0.02  # at most ~50 requests a second against a live hub


@dataclass(frozen=True)
class Finding:
    value: Any
    evidence: str


@dataclass
class Calibration:
    """Values determined (dotted register key -> Finding), and what was not."""

    target: str
    run_id: str
    found: dict[str, Finding] = field(default_factory=dict)
    undetermined: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    written: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    # The one idempotency-key function (validation.rules.idempotency_key), handed in by
    # the command: hub/ does not import validation/.
    event_key: Callable[[str, str, str], str] | None = None

    def set(self, key: str, value: Any, evidence: str) -> None:
        self.found[key] = Finding(value, evidence)
        self.undetermined.pop(key, None)

    def unknown(self, key: str, reason: str) -> None:
        if key not in self.found:
            self.undetermined.setdefault(key, reason)

    def value(self, key: str, default: Any = None) -> Any:
        found = self.found.get(key)
        return found.value if found is not None else default

    @property
    def complete(self) -> bool:
        return not self.undetermined


@dataclass(frozen=True)
class Probe:
    """One request and its answer (status 0 when the request timed out)."""

    method: str
    shown: str  # method, path and query as they may appear in evidence
    status: int
    headers: httpx.Headers
    body: Any  # parsed JSON, or None
    text: str

    def ok(self) -> bool:
        return 200 <= self.status < 300

    def rejected(self) -> bool:
        return 400 <= self.status < 500

    def __str__(self) -> str:
        return f"{self.shown} -> {self.status or 'timeout'}"


class Prober:
    """Sends bounded requests to one hub; the key goes only where ``auth`` says."""

    def __init__(self, base_url: str, key: str | None, *, budget: int = DEFAULT_BUDGET,
                 timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
                 transport: httpx.BaseTransport | None = None,
                 policy: RequestPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy  # a run's own policy (the gate's): counts and bounds these too
        self._key = key
        self.auth: tuple[str, str] | None = None  # (header, scheme) once known
        self.budget = budget
        self.sent = 0
        self._end = time.monotonic() + deadline
        self.history: list[Probe] = []
        self._last = 0.0
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def header_for(self, auth: tuple[str, str] | None) -> dict[str, str]:
        if auth is None or not self._key or not auth[0]:
            return {}
        header, scheme = auth
        return {header: f"{scheme} {self._key}".strip()}

    def send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             auth: Any = "chosen", base: str | None = None, **kwargs: Any) -> Probe:
        """One request; ``auth``: "chosen" (the dialect found), None, or (header, scheme)."""
        if self.sent >= self.budget:
            raise BudgetExhausted(f"request budget of {self.budget} spent")
        if time.monotonic() > self._end:
            raise BudgetExhausted("the probe's deadline passed")
        if self.policy is not None:
            self.policy.admit(method, path)
        self.sent += 1
        gap = MIN_GAP_SECONDS - (time.monotonic() - self._last)
        if gap > 0:
            time.sleep(gap)
        headers = dict(kwargs.pop("headers", None) or {})
        headers.update(self.header_for(self.auth if auth == "chosen" else auth))
        url = (base or self.base_url).rstrip("/") + path
        shown = f"{method} {path}" + (f"?{urlencode(params)}" if params else "")
        try:
            response = self._http.request(method, url, params=params, headers=headers,
                                          **kwargs)
        except httpx.TimeoutException:
            return Probe(method, shown, 0, httpx.Headers(), None, "")
        except httpx.TransportError as exc:
            raise TargetUnreachable(
                f"{redact_url(url)} unreachable: {type(exc).__name__}") from None
        finally:
            self._last = time.monotonic()
        probe = Probe(method, shown, response.status_code, response.headers,
                      _json(response), response.text[:2000])
        if base is None:
            self.history.append(probe)
        return probe


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
