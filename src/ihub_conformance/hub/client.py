"""A thin Inter-Hub /api/v2 client that follows the assumption register.

The suite and the gate talk to a hub only through this, so the auth header,
pagination and paths are read in one place (contracts/v1/assumptions.yaml).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.errors import TargetUnreachable

DEFAULT_TIMEOUT = 10.0
# Hard bound on pages followed by list_all, so a hub that never ends a list
# cannot hang a run (200 rows a page -> one million rows).
MAX_PAGES = 5000


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


class InterHubClient:
    """An authenticated client for one Inter-Hub base URL."""

    def __init__(
        self,
        base_url: str,
        key: str | None,
        assumptions: Assumptions | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.assumptions = assumptions or load_assumptions()
        headers = self.assumptions.auth_headers(key) if key else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> InterHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; connection failures become TargetUnreachable."""
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout) as exc:
            raise TargetUnreachable(
                f"{redact_url(self.base_url)} unreachable: {type(exc).__name__}"
            ) from None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def path(self, name: str, **params: str) -> str:
        return self.assumptions.path(name, **params)

    def list_page(
        self, name: str, *, page: int = 1, size: int | None = None,
        params: Mapping[str, Any] | None = None, **path_params: str,
    ) -> httpx.Response:
        """One page of a paginated list named in ``values.paths``."""
        pag = self.assumptions.values["pagination"]
        query = dict(params or {})
        query[pag["page_param"]] = page
        query[pag["size_param"]] = size or pag["max_size"]
        return self.get(self.path(name, **path_params), params=query)

    def list_all(
        self, name: str, *, params: Mapping[str, Any] | None = None, size: int | None = None,
        **path_params: str,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a paginated list, following pages until an empty or last one.

        Raises httpx.HTTPStatusError on a non-2xx page.
        """
        pag = self.assumptions.values["pagination"]
        for page in range(1, MAX_PAGES + 1):
            response = self.list_page(name, page=page, size=size, params=params, **path_params)
            response.raise_for_status()
            body = response.json()
            rows = body[pag["data_key"]]
            yield from rows
            meta = body.get(pag["meta_key"]) or {}
            total_pages = meta.get("totalPages")
            if not rows or (isinstance(total_pages, int) and page >= total_pages):
                return
