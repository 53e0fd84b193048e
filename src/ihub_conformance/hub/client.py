"""The one Inter-Hub /api/v2 client: the assumption register's dialect under the request policy.

The suite and the gate talk to a hub only through this, so the auth header,
pagination and paths are read in one place (contracts/v1/assumptions.yaml) and
every request follows one ``RequestPolicy`` (hub/policy.py: rate limit, budgets,
retries on 429/503, dry run, no undeclared method on a live hub). ``HubRequests``
holds the helpers over one ``request``; the suite's session adds only what is
suite-specific on top of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.contract.dialect import DialectMismatch, PageView, page_query, read_page
from ihub_conformance.errors import EXIT_FINDINGS, ConformanceError, TargetUnreachable
from ihub_conformance.hub.policy import RequestPolicy

DEFAULT_TIMEOUT = 10.0
# The one bound on pages followed (walk_pages), so a hub that never ends a list cannot
# hang a run (200 rows a page -> 200,000 rows); reaching it is an error, never a silent stop.
MAX_PAGES = 1000
# A credential no hub can have issued: the wrong-key checks of the suite and gate 4.
WRONG_KEY = "ihub-conformance-wrong-key-0000000000000000"
# ``key=`` default of a request: the client's own key.
USE_DEFAULT: Any = object()


def redact_url(url: str) -> str:
    """The URL without userinfo or query string: safe for reports and logs."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<not a valid URL>"
    netloc = parts.hostname or ""
    if port:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class HubRequests:
    """The helpers every caller of a hub has over its one ``request``."""

    assumptions: Assumptions

    def request(self, method: str, path: str, *, key: Any = USE_DEFAULT,
                **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def path(self, name: str, **params: str) -> str:
        return self.assumptions.path(name, **params)

    def page(self, name: str, *, index: int = 0, size: int | None = None,
             params: Mapping[str, Any] | None = None, key: Any = USE_DEFAULT,
             **path_params: str) -> httpx.Response:
        """The ``index``-th page (0-based; the register numbers it; ``size`` None: not sent)."""
        query = {**(params or {}), **page_query(self.assumptions, index, size)}
        return self.get(self.path(name, **path_params), params=query, key=key)

    def pages(self, name: str, *, params: Mapping[str, Any] | None = None,
              size: int | None = None, key: Any = USE_DEFAULT,
              **path_params: str) -> Iterator[tuple[httpx.Response, PageView | None]]:
        """Every page of a list (walk_pages), each with its rows read in the register's dialect."""
        path = self.path(name, **path_params)
        size = size or int(self.assumptions.get("pagination.max_size"))

        def fetch(query: dict[str, Any]) -> httpx.Response:
            return self.get(path, params={**(params or {}), **query}, key=key)

        yield from walk_pages(fetch, self.assumptions, size)

    def list_all(self, name: str, *, params: Mapping[str, Any] | None = None,
                 size: int | None = None, **path_params: str) -> Iterator[dict[str, Any]]:
        """Every row of a paginated list.

        Raises httpx.HTTPStatusError on a non-2xx page, DialectMismatch on a page of
        another shape and PageLimitReached past MAX_PAGES.
        """
        for response, view in self.pages(name, params=params, size=size, **path_params):
            if view is None:
                response.raise_for_status()
                return
            yield from view.rows


class InterHubClient(HubRequests):
    """A client for one Inter-Hub base URL; every request goes through ``policy``."""

    def __init__(
        self,
        base_url: str,
        key: str | None,
        assumptions: Assumptions | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        policy: RequestPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.assumptions = assumptions or load_assumptions()
        self.policy = policy if policy is not None else RequestPolicy()
        self._key = key
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> InterHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def auth(self, key: Any = USE_DEFAULT) -> dict[str, str]:
        """Auth headers for ``key`` (default: the client's; None: no header)."""
        if key is USE_DEFAULT:
            key = self._key
        return self.assumptions.auth_headers(key) if key else {}

    def request(self, method: str, path: str, *, key: Any = USE_DEFAULT,
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """One request under the policy; connection failures become TargetUnreachable.

        The policy may refuse it (BudgetExhausted, DryRunWrite, UndeclaredMethod);
        each caller decides what that means for its run.
        """
        merged = {**self.auth(key), **(headers or {})}

        def call() -> httpx.Response:
            try:
                return self._http.request(method, path, headers=merged, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout) as exc:
                raise TargetUnreachable(
                    f"{redact_url(self.base_url)} unreachable: {type(exc).__name__}"
                ) from None

        return self.policy.send(method, path, call, lambda r: r.status_code,
                                lambda r, name: r.headers.get(name))


class PageLimitReached(ConformanceError):
    """A list did not end within MAX_PAGES pages (a hub that never ends a list)."""

    exit_code = EXIT_FINDINGS


def walk_pages(fetch: Callable[[dict[str, Any]], httpx.Response], asm: Assumptions,
               size: int | None) -> Iterator[tuple[httpx.Response, PageView | None]]:
    """The one pagination loop: each answer with its rows read in the register's dialect.

    ``fetch`` sends one request with the page query. A non-2xx answer is yielded with
    None and ends the walk. The walk ends at an empty page, at the last page the counts
    name, or (no counts) at a page shorter than ``size``; past MAX_PAGES it raises.
    """
    seen = 0
    for index in range(MAX_PAGES):
        response = fetch(page_query(asm, index, size))
        if not 200 <= response.status_code < 300:
            yield response, None
            return
        try:
            body = response.json()
        except ValueError:
            raise DialectMismatch("ASM-03", "a JSON list answer",
                                  response.headers.get("content-type", "no content type")
                                  ) from None
        view = read_page(asm, body, response.headers)
        yield response, view
        seen += len(view.rows)
        if _last_page(view, index, seen, size):
            return
    raise PageLimitReached(f"a list did not end within {MAX_PAGES} pages")


def _last_page(view: PageView, index: int, seen: int, size: int | None) -> bool:
    if not view.rows:
        return True
    if isinstance(view.pages, int) and not isinstance(view.pages, bool):
        return index + 1 >= view.pages
    if isinstance(view.total, int) and not isinstance(view.total, bool):
        return seen >= view.total
    return size is not None and len(view.rows) < size
