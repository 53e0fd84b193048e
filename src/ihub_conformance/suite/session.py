"""The object every conformance test talks to a hub through.

It knows the target (reference, live or replay), sends requests with the bound
consumer's key, another key or none, enforces the read-only default, stamps the
run id onto everything it writes and remembers what it wrote, so a run against
production can end by listing its own objects (nothing is ever deleted).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ihub_conformance.contract.assumptions import Assumptions
from ihub_conformance.hub.client import InterHubClient
from ihub_conformance.suite.attribution import expect_assumption, status_mismatch
from ihub_conformance.suite.recording import RECORDING_CLOCK, REDACTED, REDACTED_UNBOUND
from ihub_conformance.validation.rules import idempotency_key

NAME_PREFIX = "ihub-conformance"
# A credential no hub can have issued: used for the wrong-key checks.
WRONG_KEY = "ihub-conformance-wrong-key-0000000000000000"
_USE_DEFAULT = object()
# Bound on the rows read back when proving what a list holds.
MAX_PAGES = 200


@dataclass(frozen=True)
class Written:
    """One object a run created on the target."""

    kind: str  # "widget" | "interaction-event"
    id: str | None
    name: str
    test: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class HubSession:
    mode: str  # reference | live | replay | record
    base_url: str
    key: str | None = field(repr=False)
    unbound_key: str | None = field(repr=False)
    assumptions: Assumptions = field(repr=False)
    contract: str
    run_id: str
    allow_writes: bool
    clock: str | None = None  # a fixed "now" for record/replay
    display_url: str | None = None  # the target without credentials, for reports
    written: list[Written] = field(default_factory=list, repr=False)
    requests: int = 0
    current_test: str = ""
    current_cassette: str | None = None
    _client: InterHubClient | None = field(default=None, repr=False)

    # -- plumbing ---------------------------------------------------------------------

    @property
    def client(self) -> InterHubClient:
        if self._client is None:
            # No default auth header: every request says which key it carries.
            self._client = InterHubClient(self.base_url, None, self.assumptions)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def auth(self, key: Any = _USE_DEFAULT) -> dict[str, str]:
        """Auth headers for ``key`` (default: the bound consumer's; None: no header)."""
        if key is _USE_DEFAULT:
            key = self.key
        return self.assumptions.auth_headers(key) if key else {}

    def request(self, method: str, path: str, *, key: Any = _USE_DEFAULT,
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """One request; a replay without a recording fails the test with the request named."""
        merged = {**self.auth(key), **(headers or {})}
        self.requests += 1
        try:
            return self.client.request(method, path, headers=merged, **kwargs)
        except Exception as exc:
            if type(exc).__name__ == "CannotOverwriteExistingCassetteException":
                query = kwargs.get("params")
                pytest.fail(
                    f"replay: cassette {self.current_cassette or '(session cassette)'} has no "
                    f"recording of {method} {path}" + (f" {dict(query)}" if query else "")
                    + f" for {self.current_test or 'this test'} ({_first_line(exc)}); "
                    "re-record the cassettes with `ihub-conformance run --record`",
                    pytrace=False,
                )
            raise

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def path(self, name: str, **params: str) -> str:
        return self.assumptions.path(name, **params)

    # -- capabilities -----------------------------------------------------------------

    def require_writes(self) -> None:
        if not self.allow_writes:
            pytest.skip("writes not allowed (read-only run; pass --allow-writes)")

    def require_unbound_key(self) -> str:
        if not self.unbound_key:
            pytest.skip("no unbound consumer key (set IHUB_UNBOUND_KEY to check this)")
        return self.unbound_key

    # -- values stamped with the run --------------------------------------------------

    def now(self) -> str:
        if self.clock:
            return self.clock
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def widget_name(self, label: str) -> str:
        return f"{NAME_PREFIX} {self.run_id} {label}"

    def context_key(self, label: str) -> str:
        return f"{NAME_PREFIX}/{self.run_id}/{label}"

    def event_metadata(self, label: str, event_type: str, **attributes: Any) -> dict[str, Any]:
        """activity-core's metadata: run id, context key, idempotency key, observed_at."""
        context = self.context_key(label)
        sep = self.assumptions.values["idempotency"]["separator"]
        return {
            "activity_core_run_id": self.run_id,
            "context_key": context,
            "idempotency_key": idempotency_key(self.run_id, context, event_type, sep),
            "attributes": {"observed_at": self.now(), **attributes},
        }

    def note_written(self, kind: str, response: Any, name: str) -> None:
        """Remember an object the target stored (any 2xx answer to a POST)."""
        if not 200 <= response.status_code < 300 or self.mode == "replay":
            return  # a replayed answer wrote nothing
        try:
            object_id = response.json().get("id")
        except (ValueError, AttributeError):
            object_id = None
        self.written.append(Written(kind, object_id, name, self.current_test))

    def create_widget(self, label: str, hub_id: str, widget_type: str,
                      **fields: Any) -> dict[str, Any]:
        """Create a widget of this run (named with the run id), note it, expect a 201."""
        self.require_writes()
        name = self.widget_name(label)
        response = self.post(self.path("widgets"), json={
            "hubId": hub_id, "name": name, "widgetType": widget_type, **fields})
        self.note_written("widget", response, name)
        return self.expect(response, 201, "widget-resource")

    # -- reading lists ----------------------------------------------------------------

    def page(self, name: str, *, page: int = 1, size: int | None = None,
             params: Mapping[str, Any] | None = None, key: Any = _USE_DEFAULT,
             **path_params: str) -> httpx.Response:
        """One page of a list (``size`` None: the parameter is not sent)."""
        pag = self.assumptions.values["pagination"]
        query = {**(params or {}), pag["page_param"]: page}
        if size is not None:
            query[pag["size_param"]] = size
        return self.get(self.path(name, **path_params), params=query, key=key)

    def pages(self, name: str, *, params: Mapping[str, Any] | None = None,
              size: int | None = None, key: Any = _USE_DEFAULT,
              **path_params: str) -> Iterator[httpx.Response]:
        """Every page of a list until an empty or the last one (bounded)."""
        pag = self.assumptions.values["pagination"]
        for page in range(1, MAX_PAGES + 1):
            query = {**(params or {}), pag["page_param"]: page,
                     pag["size_param"]: size or pag["max_size"]}
            response = self.get(self.path(name, **path_params), params=query, key=key)
            yield response
            if response.status_code != 200:
                return
            body = response.json()
            rows = body.get(pag["data_key"]) or []
            total_pages = (body.get(pag["meta_key"]) or {}).get("totalPages")
            if not rows or (isinstance(total_pages, int) and page >= total_pages):
                return

    def rows(self, name: str, *, params: Mapping[str, Any] | None = None,
             size: int | None = None, **path_params: str) -> list[dict[str, Any]]:
        """All rows of a list; a non-200 page fails the test."""
        data_key = self.assumptions.values["pagination"]["data_key"]
        out: list[dict[str, Any]] = []
        for response in self.pages(name, params=params, size=size, **path_params):
            if response.status_code != 200:
                pytest.fail(f"GET {response.request.url.path} answered "
                            f"{response.status_code}: {response.text[:200]}", pytrace=False)
            out.extend(response.json().get(data_key) or [])
        return out


    # -- checking answers --------------------------------------------------------------

    def violations(self, kind: str, doc: Any) -> list[str]:
        """Contract violations of ``doc`` as a ``kind`` (validation.validator_for)."""
        from ihub_conformance.validation.engine import validator_for

        return [str(v) for v in validator_for(kind, self.contract).violations(doc)]

    def expect(self, response: httpx.Response, status: int, kind: str | None = None) -> Any:
        """The JSON body of a ``status`` answer, valid as ``kind``; anything else fails."""
        what = _what(response)
        if response.status_code != status:
            mismatch = status_mismatch(self.assumptions, response, status)
            if mismatch is not None:
                raise mismatch
            pytest.fail(f"{what}: expected {status}, got {response.status_code}: "
                        f"{_snippet(response)}", pytrace=False)
        body = _json(response, what)
        if kind is not None:
            found = self.violations(kind, body)
            if found:
                pytest.fail(f"{what}: the {status} body breaks the {kind} schema: "
                            + "; ".join(found[:5]), pytrace=False)
        return body

    def expect_page(self, response: httpx.Response, row_kind: str | None) -> list[dict]:
        """A 200 list page: the envelope (integer counts) and every row valid."""
        body = self.expect(response, 200)
        _integer_counts(body, self.assumptions.values["pagination"], _what(response))
        found = self.violations("page", body)
        # The list envelope is the register's guess (ASM-03), not the source's.
        expect_assumption("ASM-03", not found, expected="the register's list envelope",
                          observed="; ".join(found[:3]), detail=_what(response))
        rows = body[self.assumptions.values["pagination"]["data_key"]]
        if row_kind is not None:
            for index, row in enumerate(rows):
                found = self.violations(row_kind, row)
                if found:
                    pytest.fail(f"{_what(response)}: row {index} breaks the {row_kind} schema: "
                                + "; ".join(found[:5]), pytrace=False)
        return rows

    def expect_rejected(self, response: httpx.Response, *, field: str | None = None,
                        statuses: tuple[int, ...] | None = None) -> dict[str, Any]:
        """A 4xx with the error envelope (ASM-04), naming ``field`` when given."""
        what = _what(response)
        accepted = statuses or ()
        code = response.status_code
        if not (400 <= code < 500):
            pytest.fail(f"{what}: expected a rejection (4xx), got {code}: {_snippet(response)}",
                        pytrace=False)
        # The source requires a rejection; which 4xx, and the error body, are guesses.
        expect_assumption("ASM-05", not accepted or code in accepted, expected=list(accepted),
                          observed=code, detail=f"{what}: which 4xx rejects")
        body = _json(response, what)
        found = self.violations("error", body)
        expect_assumption("ASM-04", not found, expected="the register's error body",
                          observed="; ".join(found[:3]) + f" in {_snippet(response)[:120]}",
                          detail=f"{what} -> {code}")
        if field is not None:
            envelope = self.assumptions.values["errors"]
            named = (body.get(envelope["envelope_key"]) or {}).get(envelope["field_key"])
            expect_assumption("ASM-04", named == field, expected=f"field {field!r}",
                              observed=f"field {named!r}", detail=f"{what} -> {code}")
        return body


def _integer_counts(body: Any, pag: Mapping[str, Any], what: str) -> None:
    """Counts written as strings are gate 1's COUNT(*) decoding bug: a source matter, not
    a guess, wherever the register says the counts live."""
    if not isinstance(body, dict):
        return
    meta = body.get(pag.get("meta_key")) if pag.get("meta_key") else body
    for key in ("total_key", "pages_key", "page_key", "size_key"):
        value = meta.get(pag.get(key)) if isinstance(meta, dict) and pag.get(key) else None
        if isinstance(value, str):
            pytest.fail(f"{what}: count `{pag[key]}` is the string {value!r}, not a JSON "
                        "integer (gate 1: the COUNT(*) decoding fix)", pytrace=False)


def _what(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url.path}"


def _snippet(response: httpx.Response) -> str:
    return response.text[:300].replace("\n", " ")


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        pytest.fail(f"{what}: answer is not JSON ({response.headers.get('content-type')}): "
                    f"{_snippet(response)}", pytrace=False)


def replay_credentials(unbound: bool) -> tuple[str, str | None]:
    """The placeholder keys a replay sends: what the recording's scrubber wrote."""
    return REDACTED, (REDACTED_UNBOUND if unbound else None)


def fixed_clock(mode: str) -> str | None:
    return RECORDING_CLOCK if mode in ("record", "replay") else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
