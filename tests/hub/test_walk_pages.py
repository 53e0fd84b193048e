"""THE pagination loop (hub.client.walk_pages): one loop, one page limit, every dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.contract.dialect import DialectMismatch, read_page, write_page
from ihub_conformance.hub import client
from ihub_conformance.hub.client import PageLimitReached, walk_pages

ROWS = [{"id": n} for n in range(7)]


def _register(tmp_path: Path, text: str):
    path = tmp_path / "dialect.yaml"
    path.write_text(text)
    return load_assumptions(override=path)


def _hub(asm, rows: list[Any], *, lie_total: int | None = None):
    """A fetch answering ``rows`` in the register's dialect; records the queries."""
    pag = asm.values["pagination"]
    seen: list[dict[str, Any]] = []

    def fetch(query: dict[str, Any]) -> httpx.Response:
        seen.append(query)
        page, size = int(query[pag["page_param"]]), int(query[pag["size_param"]])
        start = (page - int(pag["first_page"])) * size
        total = len(rows) if lie_total is None else lie_total
        body, headers = write_page(asm, rows[start:start + size], page=page, size=size,
                                   total=total, pages=-(-total // size))
        return httpx.Response(200, json=body, headers=headers)

    return fetch, seen


@pytest.mark.parametrize("text", [
    "",  # the default: envelope with totals
    "pagination: {shape: array, first_page: 0, total_header: X-Total-Count}\n",
    "pagination: {shape: array, page_param: p, size_param: n}\n",  # no totals at all
    "pagination: {data_key: results, meta_key: null, page_key: null, size_key: null,"
    " total_key: count, pages_key: null}\n",
])
def test_every_row_once_in_every_dialect(tmp_path: Path, text: str) -> None:
    asm = _register(tmp_path, text)
    fetch, seen = _hub(asm, ROWS)
    rows = [row for _, view in walk_pages(fetch, asm, 3) for row in view.rows]
    assert rows == ROWS
    first = int(asm.get("pagination.first_page"))
    assert [q[asm.get("pagination.page_param")] for q in seen][:3] == [first, first + 1,
                                                                      first + 2]


def test_a_list_without_end_is_an_error_not_a_silent_stop(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(client, "MAX_PAGES", 5)
    asm = load_assumptions()
    fetch, seen = _hub(asm, [{"id": n} for n in range(100)], lie_total=10**6)
    with pytest.raises(PageLimitReached, match="5 pages"):
        list(walk_pages(fetch, asm, 2))
    assert len(seen) == 5


def test_a_page_of_another_shape_is_a_dialect_mismatch() -> None:
    asm = load_assumptions()
    with pytest.raises(DialectMismatch) as caught:
        read_page(asm, [{"id": 1}], {})
    assert caught.value.asm_id == "ASM-03"


def test_a_refusal_ends_the_walk_with_the_answer() -> None:
    asm = load_assumptions()
    answers = list(walk_pages(lambda q: httpx.Response(401, json={}), asm, 2))
    assert [(r.status_code, view) for r, view in answers] == [(401, None)]
