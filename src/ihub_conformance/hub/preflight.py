"""Before any test: does the target answer like an Inter-Hub under the register?

One bounded probe of the list the source itself fixes (``GET /api/v2/widgets``,
"authenticated and paginated"), first page, one row, with the key, all within
one total deadline (connect, send, headers and body together). What can come
back, told apart:

- nothing (refused, no route, a TCP accept that never answers): unreachable, exit 3;
- 404 / 405: no Inter-Hub route at that base URL, exit 2;
- 401 / 403 with a key: the key is refused, exit 2 (``key_refused``);
- a 2xx that is not JSON (a proxy's or a web server's page): not an Inter-Hub, exit 2.

Any other answer (a 500 the COUNT(*) bug gives, a 429) passes the preflight: the
tests and gates exist to judge those.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ihub_conformance.contract.assumptions import Assumptions
from ihub_conformance.errors import ConformanceError, TargetUnreachable
from ihub_conformance.hub.client import redact_url
from ihub_conformance.hub.policy import RequestPolicy

# Issue 16 item 10: a TCP accept that never answers is exit 3 within seconds.
DEADLINE = 8.0
CONNECT_TIMEOUT = 3.0
_BODY_LIMIT = 65536


class WrongTarget(ConformanceError):
    """The target answers, but not like an Inter-Hub (exit 2)."""


class KeyRefused(WrongTarget):
    """The target is an Inter-Hub and refuses the key (exit 2 for run; gate 4 for gate)."""


@dataclass(frozen=True)
class ProbeAnswer:
    status: int
    content_type: str
    body: bytes


def preflight(base_url: str, key: str | None, assumptions: Assumptions, *,
              key_env: str = "OPS_HUB_KEY", deadline: float = DEADLINE,
              policy: RequestPolicy | None = None) -> ProbeAnswer:
    """Probe the target once within ``deadline`` seconds; raise unless it is an Inter-Hub.

    Under a run's ``policy`` the probe is counted, rate-limited and budgeted, never
    retried: a 429 here passes (the checks judge it), and the deadline is total.
    """
    end = time.monotonic() + deadline
    shown = redact_url(base_url)
    _connect(base_url, min(CONNECT_TIMEOUT, deadline))
    path = assumptions.path("widgets")
    pag = assumptions.values["pagination"]
    params = {pag["page_param"]: pag["first_page"], pag["size_param"]: 1}
    asked = f"GET {shown.rstrip('/')}{path}"
    if policy is not None:
        policy.admit("GET", path)
    answer = _probe(base_url, path, params, assumptions.auth_headers(key), end)
    if answer is None:
        raise TargetUnreachable(f"{asked}: the connection was accepted but no answer came "
                                f"within {deadline:g}s (not an HTTP server, or hung)")
    judge(answer, asked, key=key, key_env=key_env, needs_key=assumptions.needs_key("widgets"))
    return answer


def judge(answer: ProbeAnswer, asked: str, *, key: str | None, key_env: str,
          needs_key: bool) -> None:
    """Raise WrongTarget / KeyRefused when the probe's answer is not an Inter-Hub's."""
    got = f"answered {answer.status} {answer.content_type or '(no content type)'}"
    if answer.status in (404, 405):
        raise WrongTarget(f"{asked} {got}: no Inter-Hub /api/v2 route there; --target must "
                          "be the hub's base URL (without /api/v2)")
    if answer.status in (401, 403):
        if key and needs_key:
            raise KeyRefused(f"{asked} {got}: the key in ${key_env} is refused by the hub")
        return  # no key sent: an Inter-Hub asks for one (the missing key is reported apart)
    if 200 <= answer.status < 300 and not _is_json(answer):
        raise WrongTarget(f"{asked} {got}: a 2xx that is not JSON, so not an Inter-Hub "
                          "(a proxy or web page?)")


def _is_json(answer: ProbeAnswer) -> bool:
    if "json" not in answer.content_type.lower():
        return False
    try:
        json.loads(answer.body)
    except ValueError:
        return len(answer.body) >= _BODY_LIMIT  # cut by the limit, not malformed
    return True


def _connect(base_url: str, timeout: float) -> None:
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return
    except TimeoutError:
        reason = f"no connection within {timeout:g}s"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise TargetUnreachable(f"{redact_url(base_url)} unreachable: {reason}")


def _probe(base_url: str, path: str, params: dict, headers: dict[str, str],
           end: float) -> ProbeAnswer | None:
    """The one request in a daemon thread, so a peer that trickles bytes cannot outlast
    the total deadline (httpx's timeouts bound each read, not the whole exchange)."""
    box: list[ProbeAnswer | BaseException] = []

    def send() -> None:
        try:
            remaining = max(0.1, end - time.monotonic())
            with httpx.Client(base_url=base_url, timeout=remaining) as http, \
                    http.stream("GET", path, params=params, headers=headers) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= _BODY_LIMIT or time.monotonic() > end:
                        break
                box.append(ProbeAnswer(response.status_code,
                                       response.headers.get("content-type", ""), body))
        except BaseException as exc:  # handed to the caller's thread
            box.append(exc)

    worker = threading.Thread(target=send, name="ihub-preflight", daemon=True)
    worker.start()
    worker.join(max(0.0, end - time.monotonic()))
    if not box:
        return None
    result = box[0]
    if isinstance(result, httpx.TimeoutException):
        return None
    if isinstance(result, httpx.TransportError):
        raise TargetUnreachable(f"{redact_url(base_url)} unreachable: {type(result).__name__}")
    if isinstance(result, BaseException):
        raise result
    return result
