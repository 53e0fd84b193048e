"""The object every conformance test talks to a hub through.

It knows the target (reference, live or replay), sends requests with the bound
consumer's key, another key or none, enforces the read-only default, stamps the
run id onto everything it writes and remembers what it wrote, so a run against
production can end by listing its own objects (nothing is ever deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ihub_conformance.contract.assumptions import Assumptions, describe_status
from ihub_conformance.contract.dialect import (
    DialectMismatch,
    PageView,
    error_field,
    error_schema,
    names_fields,
    read_page,
)
from ihub_conformance.hub.client import USE_DEFAULT, HubRequests, InterHubClient, PageLimitReached
from ihub_conformance.hub.client import WRONG_KEY as WRONG_KEY  # the conformance tests' import
from ihub_conformance.hub.policy import (
    BudgetExhausted,
    DryRunWrite,
    RequestPolicy,
    UndeclaredMethod,
)
from ihub_conformance.suite.attribution import (
    AssumptionMismatch,
    expect_assumption,
    status_mismatch,
    unverifiable,
)
from ihub_conformance.suite.recording import RECORDING_CLOCK, REDACTED, REDACTED_UNBOUND
from ihub_conformance.validation.rules import idempotency_key

NAME_PREFIX = "ihub-conformance"
# The line a run stopped by its policy prints; the runner shows it as the reason.
STOP_PREFIX = "ihub-conformance: stopped: "


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
class HubSession(HubRequests):
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
    current_test: str = ""
    current_cassette: str | None = None
    policy: RequestPolicy = field(default_factory=RequestPolicy, repr=False)
    # The answers of the current test, newest last (its failure's reproduction).
    exchanges: list[Any] = field(default_factory=list, repr=False)
    judged: Any = field(default=None, repr=False)  # the answer an expect_* call last judged
    # Answers whose shape differs from a register guess (ASM-06/08/09/10): the test goes
    # on, so a source statement it then finds broken outranks them; evidence.py raises the
    # first when the test otherwise passes.
    deferred: list[AssumptionMismatch] = field(default_factory=list, repr=False)
    _client: InterHubClient | None = field(default=None, repr=False)

    # -- plumbing ---------------------------------------------------------------------

    @property
    def client(self) -> InterHubClient:
        """The one client, under the run's policy, with the bound consumer's key."""
        if self._client is None:
            self._client = InterHubClient(self.base_url, self.key, self.assumptions,
                                          policy=self.policy)
        return self._client

    @property
    def requests(self) -> int:
        """Every request the run sent (Schemathesis's too): the policy counts them."""
        return self.policy.requests

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def request(self, method: str, path: str, *, key: Any = USE_DEFAULT,
                **kwargs: Any) -> httpx.Response:
        """The client's request, kept as this test's reproduction; a replay without a
        recording fails the test with the request named."""
        try:
            with self._policed():
                response = self.client.request(method, path, key=key, **kwargs)
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
        self.exchanges.append(response)
        return response

    def send(self, method: str, path: str, call: Callable[[], Any],
             status: Callable[[Any], int], header: Callable[[Any, str], str | None]) -> Any:
        """A request the client does not send (Schemathesis's) through the same policy."""
        with self._policed():
            return self.policy.send(method, path, call, status, header)

    @contextmanager
    def _policed(self) -> Iterator[None]:
        """What a policy refusal means in the suite: a budget that runs out stops the
        whole run, a dry-run write skips the test that wanted it."""
        try:
            yield
        except DryRunWrite as planned:
            pytest.skip(f"dry run: would send {planned.method} {planned.path}")
        except BudgetExhausted as exc:
            pytest.exit(f"{STOP_PREFIX}{exc}", returncode=pytest.ExitCode.INTERRUPTED)
        except UndeclaredMethod as exc:
            pytest.fail(str(exc), pytrace=False)

    # -- capabilities -----------------------------------------------------------------

    def require_writes(self) -> None:
        if not self.allow_writes:
            pytest.skip("writes not allowed (read-only run; pass --allow-writes)")

    def require_auth(self) -> None:
        """Key checks need a hub that takes a key (ASM-01)."""
        if not self.assumptions.get("auth.header"):
            unverifiable("the register says the hub takes no key (auth.header: null): "
                         "how it authenticates cannot be observed")

    def require_read(self, name: str) -> None:
        """Checks of an optional read (ASM-08/09/10/18) need a hub that has it."""
        if not self.assumptions.serves(name):
            unverifiable(f"the hub has no {name} read (values.endpoints)")

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
        """Create a widget of this run (named with the run id), note it, expect it created."""
        self.require_writes()
        name = self.widget_name(label)
        response = self.post(self.path("widgets"), json={
            "hubId": hub_id, "name": name, "widgetType": widget_type, **fields})
        self.note_written("widget", response, name)
        return self.expect_created(response, "create_widget", "widget-resource")

    def consumer(self, key: Any = USE_DEFAULT) -> dict[str, Any]:
        """The calling consumer (ASM-10), or the override file's stand-in for the bound key."""
        if self.assumptions.has_endpoint("consumer"):
            return self.expect(self.get(self.path("consumer"), key=key), 200, "consumer")
        stand_in = self.assumptions.get("stand_ins.consumer")
        if key is not USE_DEFAULT or stand_in is None:
            unverifiable("the hub has no consumer read and the register gives no "
                         "stand_ins.consumer for this key")
        return {"hubId": None, **stand_in}

    def manifest(self, slug: str) -> dict[str, Any]:
        """The hub's active manifest (ASM-10), or the override file's stand-in."""
        if self.assumptions.has_endpoint("manifest"):
            return self.expect(self.get(self.path("manifest", slug=slug)), 200, "manifest")
        stand_in = self.assumptions.get("stand_ins.manifest")
        if stand_in is None:
            unverifiable("the hub has no manifest read and the register gives no "
                         "stand_ins.manifest")
        return stand_in

    def read_widget(self, widget_id: str) -> dict[str, Any]:
        """One widget as stored: its own read (ASM-08) or, without one, found in the list."""
        if self.assumptions.serves("widget"):
            return self.expect(self.get(self.path("widget", id=widget_id)), 200,
                               "widget-resource")
        rows = [row for row in self.rows("widgets") if row.get("id") == widget_id]
        if not rows:
            pytest.fail(f"widget {widget_id} is not in GET {self.path('widgets')}",
                        pytrace=False)
        return rows[0]

    # -- reading lists ----------------------------------------------------------------

    def pages(self, name: str, *, params: Mapping[str, Any] | None = None,
              size: int | None = None, key: Any = USE_DEFAULT,
              **path_params: str) -> Iterator[tuple[httpx.Response, PageView | None]]:
        """Every page of a list (the client's one loop); a page of another shape is an
        assumption mismatch, a list without end a failure."""
        try:
            yield from super().pages(name, params=params, size=size, key=key, **path_params)
        except DialectMismatch as exc:
            expect_assumption(exc.asm_id, False, expected=exc.expected, observed=exc.observed,
                              detail=f"GET {self.path(name, **path_params)}")
        except PageLimitReached as exc:
            pytest.fail(f"GET {self.path(name, **path_params)}: {exc}", pytrace=False)

    def rows(self, name: str, *, params: Mapping[str, Any] | None = None,
             size: int | None = None, **path_params: str) -> list[dict[str, Any]]:
        """All rows of a list; a non-2xx page fails the test."""
        out: list[dict[str, Any]] = []
        for response, view in self.pages(name, params=params, size=size, **path_params):
            if view is None:
                mismatch = status_mismatch(self.assumptions, response, 200)
                if mismatch is not None:
                    raise mismatch
                pytest.fail(f"GET {response.request.url.path} answered "
                            f"{response.status_code}: {_snippet(response)}", pytrace=False)
            out.extend(view.rows)
        return out

    # -- checking answers --------------------------------------------------------------

    def violations(self, kind: str, doc: Any) -> list[str]:
        """Contract violations of ``doc`` as a ``kind`` (validation.validator_for)."""
        from ihub_conformance.validation.engine import validator_for

        return [str(v) for v in validator_for(kind, self.contract).violations(doc)]

    def expect_status(self, response: httpx.Response, status: int) -> None:
        """A ``status`` answer; another one where the source fixes no status is a mismatch."""
        self.judged = response  # a failure below reproduces this exchange
        if response.status_code != status:
            mismatch = status_mismatch(self.assumptions, response, status)
            if mismatch is not None:
                raise mismatch
            pytest.fail(f"{_what(response)}: expected {status}, got {response.status_code}: "
                        f"{_snippet(response)}", pytrace=False)

    def expect(self, response: httpx.Response, status: int, kind: str | None = None) -> Any:
        """The JSON body of a ``status`` answer, valid as ``kind``; anything else fails."""
        self.expect_status(response, status)
        return self._valid_body(response, kind)

    def _valid_body(self, response: httpx.Response, kind: str | None) -> Any:
        what, code = _what(response), response.status_code
        body = _json(response, what)
        if kind is not None:
            self._check_shape(kind, body, f"{what}: the {code} body")
        return body

    def _check_shape(self, kind: str, doc: Any, what: str) -> None:
        """A ``kind`` document against its schema: a shape the source fixes fails now, a
        shape the register guessed (``shapes`` of an entry) is a deferred mismatch."""
        found = self.violations(kind, doc)
        if not found:
            return
        owner = self.assumptions.shape_owner(kind)
        if owner is None:
            pytest.fail(f"{what} breaks the {kind} schema: " + "; ".join(found[:5]),
                        pytrace=False)
        self.deferred.append(AssumptionMismatch(
            owner, f"the {kind} shape the register guesses", "; ".join(found[:5]),
            f"{what} (contracts/{self.contract} schema; the source names no such shape)"))

    def expect_created(self, response: httpx.Response, operation: str,
                       kind: str | None = None) -> Any:
        """A create that must succeed (the source): any non-2xx fails; a 2xx other than
        the register's success status (ASM-06) is an assumption mismatch."""
        code = response.status_code
        if not 200 <= code < 300:
            pytest.fail(f"{_what(response)}: expected the create to succeed, got {code}: "
                        f"{_snippet(response)}", pytrace=False)
        spec = self.assumptions.get(f"status.{operation}")
        expect_assumption("ASM-06", self.assumptions.success_ok(operation, code),
                          expected=describe_status(spec), observed=code,
                          detail=f"{_what(response)} success status")
        return self._valid_body(response, kind)

    def expect_page(self, response: httpx.Response, row_kind: str | None) -> list[dict]:
        """A 200 list page in the register's dialect: integer counts, every row valid."""
        self.expect_status(response, 200)
        what = _what(response)
        try:
            view = read_page(self.assumptions, _json(response, what), response.headers)
        except DialectMismatch as exc:
            expect_assumption(exc.asm_id, False, expected=exc.expected, observed=exc.observed,
                              detail=what)
            raise  # unreachable: expect_assumption raised
        self.expect_counts(response, view)
        if row_kind is not None:
            for index, row in enumerate(view.rows):
                self._check_shape(row_kind, row, f"{what}: row {index}")
        return view.rows

    def expect_counts(self, response: httpx.Response, view: PageView) -> None:
        """Counts the dialect names are present (ASM-03) and JSON integers (gate 1)."""
        pag = self.assumptions.values["pagination"]
        named = {"total": pag["total_key"] or pag["total_header"],
                 "pages": pag["pages_key"] or pag["pages_header"],
                 "page": pag["page_key"], "size": pag["size_key"]}
        if pag["shape"] == "array":
            named["page"] = named["size"] = None
        for attr, name in named.items():
            value = getattr(view, attr)
            if not name:
                continue
            expect_assumption("ASM-03", value is not None, expected=f"a count under {name!r}",
                              observed="absent", detail=_what(response))
            assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, (
                f"{_what(response)}: the count {name!r} is {value!r}, not a non-negative "
                "JSON integer (gate 1: the COUNT(*) decoding fix)")

    def expect_rejected(self, response: httpx.Response, *, case: str = "validation",
                        field: str | None = None) -> Any:
        """A refusal. That it is a 4xx is the source's; which 4xx (ASM-05 case), the error
        body's shape and the field it names (ASM-04) are the register's."""
        self.judged = response  # a failure below reproduces this exchange
        what, code = _what(response), response.status_code
        if not 400 <= code < 500:
            pytest.fail(f"{what}: expected a rejection (4xx), got {code}: {_snippet(response)}",
                        pytrace=False)
        spec = self.assumptions.get(f"status.rejections.{case}")
        expect_assumption(self.assumptions.asm_id(f"status.rejections.{case}") or "ASM-05",
                          self.assumptions.rejection_ok(case, code),
                          expected=describe_status(spec), observed=code,
                          detail=f"{what} status for {case.replace('_', ' ')}")
        try:
            body = response.json()
        except ValueError:
            body = None
        found = _schema_errors(error_schema(self.assumptions), body)
        expect_assumption("ASM-04", not found, expected="the register's error body",
                          observed=found[0] if found else None, detail=f"{what} {code} body")
        if field is not None and names_fields(self.assumptions):
            named = error_field(self.assumptions, body)
            expect_assumption("ASM-04", named == field, expected=field, observed=named,
                              detail=f"{what} {code}: the field the error names")
        return body


    def refuses_field(self, response: httpx.Response, name: str) -> bool:
        """Whether a 4xx answer refuses the request field ``name``: the field its error names
        in the register's dialect (ASM-04), or, in a dialect naming none, any mention."""
        if not 400 <= response.status_code < 500:
            return False
        if not names_fields(self.assumptions):
            return name in response.text
        try:
            body = response.json()
        except ValueError:
            return False
        return error_field(self.assumptions, body) == name


def _schema_errors(schema: dict[str, Any], body: Any) -> list[str]:
    import jsonschema

    return [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message[:120]}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(body)]


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
