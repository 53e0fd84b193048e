"""What a failing test leaves behind: its own identity and a way to reproduce it.

Registered by the plugin for every session of the suite.

- Identity: each Schemathesis operation is its own JUnit testcase
  (``test_operation_conforms[GET /api/v2/widgets]``) and its own Allure
  ``historyId`` (an ``operation`` parameter); Hypothesis's base64 statistics are
  kept out of the JUnit file.
- Reproduction: a failing test's report (so report.md, the JUnit failure text and
  an Allure attachment) carries the last request it sent (method, URL, headers
  with the key redacted, body) and the answer (status, headers, body, cut), a
  ``curl`` line that reads the key from ``$OPS_HUB_KEY``, and the command that
  reruns just that test (with ``--fault`` and ``--seed`` where they apply).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

BODY_LIMIT = 1500
REFERENCE_ORIGIN = "$IHUB_URL"
_SIMPLE_PARAM = re.compile(r"^[A-Za-z0-9_.-]+$")


# The suite's state (plugin.SuiteState), put here by the plugin at configure time.
SUITE = pytest.StashKey[Any]()


def test_id(item: pytest.Item) -> str:
    """A unique id: Schemathesis items share the function's node id, not its name."""
    nodeid = item.nodeid
    if "[" in item.name and "[" not in nodeid:
        return f"{nodeid.rsplit('::', 1)[0]}::{item.name}"
    return nodeid


def operation_of(item: pytest.Item) -> str | None:
    """``GET /api/v2/widgets`` for a Schemathesis item (its name, not its node id, says it)."""
    if "[" in item.name and "[" not in item.nodeid:
        return item.name.split("[", 1)[1].rstrip("]")
    return None


def _suite(item: pytest.Item) -> Any:
    return item.config.stash.get(SUITE, None)


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    operation = operation_of(item)
    if operation is not None:
        import allure

        allure.dynamic.parameter("operation", operation)
    suite = _suite(item)
    if suite is not None and suite.session is not None:
        suite.session.exchanges.clear()
        suite.session.judged = None
        suite.session.deferred.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    # A test's own failure propagates from the yield and stands (a broken source statement
    # outranks a guessed shape); a test that otherwise passed ends in its first deferred
    # shape mismatch.
    result = yield
    suite = _suite(item)
    deferred = suite.session.deferred if suite is not None and suite.session else []
    if deferred:
        raise deferred[0]
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    # Hypothesis would add its statistics to the JUnit file as a base64 global property.
    if hasattr(item, "hypothesis_statistics"):
        del item.hypothesis_statistics


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    report.nodeid = test_id(item)  # JUnit names each Schemathesis operation apart
    suite = _suite(item)
    if (suite is None or suite.session is None or not report.failed or report.when != "call"
            or "hub" not in getattr(item, "fixturenames", ())):
        return  # not a conformance test talking to a hub
    text = reproduction(item, suite)
    report.longrepr = f"{_curl_with_env(report.longreprtext or '', suite)}\n\n{text}"
    import allure

    allure.attach(suite.redact(text), name="reproduction",
                  attachment_type=allure.attachment_type.TEXT)


def reproduction(item: pytest.Item, suite: Any) -> str:
    """The block appended to a failure: request, response, curl, rerun command."""
    lines = ["-- reproduce " + "-" * 60]
    session = suite.session
    exchanges = getattr(session, "exchanges", None) or []
    judged = getattr(session, "judged", None)
    if exchanges:  # the answer the failing check judged, else the test's last one
        lines += exchange_lines(judged if judged is not None else exchanges[-1], session, suite)
    elif operation_of(item):
        lines.append(f"Schemathesis case above (seed {suite.seed}); its curl line reads the "
                     f"key from ${suite.key_env}")
    if suite.mode == "reference":
        lines.append("reference hub: `OPS_HUB_KEY=... ihub-conformance serve --port 8080"
                     + "".join(f" --fault {f}" for f in sorted(suite.faults))
                     + "` then `export IHUB_URL=http://127.0.0.1:8080`")
    lines.append("rerun: " + rerun_command(item, suite))
    return "\n".join(lines)


def exchange_lines(response: Any, session: Any, suite: Any) -> list[str]:
    request = response.request
    url = _origin(str(request.url), session, suite)
    body = _cut(request.content.decode("utf-8", "replace")) if request.content else ""
    out = [f"request:  {request.method} {url}"]
    out += [f"          {name}: {_header(name, value, session, suite)}"
            for name, value in request.headers.items()
            if name.lower() not in ("host", "content-length", "accept-encoding", "connection")]
    if body:
        out.append(f"          body: {body}")
    out.append(f"response: {response.status_code} {response.reason_phrase}")
    out += [f"          {name}: {value}" for name, value in response.headers.items()
            if name.lower() not in ("date", "server", "content-length")]
    text = response.text if response.content else ""
    if text:
        out.append(f"          body: {_cut(text)}")
    out.append("curl: " + curl_line(request, url, session, suite))
    return out


def curl_line(request: Any, url: str, session: Any, suite: Any) -> str:
    parts = ["curl", "-sS", "-X", request.method, f'"{url}"']
    for name, value in request.headers.items():
        if name.lower() in ("host", "content-length", "accept-encoding", "connection",
                            "user-agent", "accept"):
            continue
        shown = _header(name, value, session, suite, for_shell=True)
        parts += ["-H", f'"{name}: {shown}"' if "$" in shown else shlex.quote(f"{name}: {shown}")]
    if request.content:
        parts += ["--data-binary", shlex.quote(request.content.decode("utf-8", "replace"))]
    return " ".join(parts)


def rerun_command(item: pytest.Item, suite: Any) -> str:
    words = ["ihub-conformance", "run", "--target", suite.target]
    words += [w for fault in sorted(suite.faults) for w in ("--fault", fault)]
    if suite.key_env != "OPS_HUB_KEY":
        words += ["--key-env", suite.key_env]
    if suite.contract != "v1":
        words += ["--contract", suite.contract]
    if suite.assumptions_file:
        words += ["--assumptions", suite.assumptions_file]
    if suite.allow_writes and suite.mode == "live":
        words.append("--allow-writes")
    if operation_of(item):
        words += ["--seed", str(suite.seed), "--examples", str(suite.examples)]
    words += ["-k", _keyword(item)]
    return " ".join(shlex.quote(w) for w in words)


def _keyword(item: pytest.Item) -> str:
    name = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
    param = item.name[len(name):].strip("[]") if item.name.startswith(name + "[") else ""
    if param and _SIMPLE_PARAM.match(param):
        return f"{name} and {param}"
    return name


def _origin(url: str, session: Any, suite: Any) -> str:
    if suite.mode == "reference" and session.base_url:
        return url.replace(session.base_url.rstrip("/"), REFERENCE_ORIGIN, 1)
    return url


def _header(name: str, value: str, session: Any, suite: Any, *, for_shell: bool = False) -> str:
    known = {session.key: f"${suite.key_env}", session.unbound_key: "$IHUB_UNBOUND_KEY"}
    for secret, variable in known.items():
        if secret and secret in value:
            return value.replace(secret, variable if for_shell else f"<{variable[1:]}>")
    return value


def _curl_with_env(text: str, suite: Any) -> str:
    """Schemathesis's own curl line: the key from the environment, the reference's
    vanished port as ``$IHUB_URL``."""
    session = suite.session
    if session is None:
        return text
    lines = []
    for line in text.splitlines():
        if "curl " in line:
            if session.key:
                line = line.replace(session.key, f"${{{suite.key_env}}}")
            if suite.mode == "reference" and session.base_url:
                line = line.replace(session.base_url.rstrip("/"), REFERENCE_ORIGIN)
        lines.append(line)
    return "\n".join(lines)


def _cut(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f" ... ({len(text)} chars)"
