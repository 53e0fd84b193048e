"""Discover a hub's pagination: parameter names, first page, where the totals live."""

from __future__ import annotations

from typing import Any

from ihub_conformance.hub.calibrate import (
    DATA_KEYS,
    META_KEYS,
    PAGE_KEYS,
    PAGE_PARAMS,
    PAGES_HEADERS,
    PAGES_KEYS,
    SIZE_KEYS,
    SIZE_PARAMS,
    TOTAL_HEADERS,
    TOTAL_KEYS,
    first_key,
    rows_of,
)
from ihub_conformance.hub.probe import Calibration, Probe, Prober

HUGE_SIZE = 100000
_PAGINATION = ("page_param", "size_param", "first_page", "default_size", "max_size", "shape",
               "data_key", "meta_key", "page_key", "size_key", "total_key", "pages_key",
               "total_header", "pages_header")


def record_shape(cal: Calibration, answer: Probe) -> None:
    """A bare array, or an envelope and the key of its rows."""
    body = answer.body
    if isinstance(body, list):
        cal.set("pagination.shape", "array", f"{answer}: a bare JSON array")
        return
    key = first_key(body, DATA_KEYS) if isinstance(body, dict) else None
    if isinstance(body, dict) and not isinstance(body.get(key), list):
        key = next((k for k, v in body.items() if isinstance(v, list)), None)
    if key is None:
        cal.unknown("pagination.shape", f"{answer}: neither an array nor an object "
                    "holding one")
        return
    cal.set("pagination.shape", "envelope", f"{answer}: an object holding the rows")
    cal.set("pagination.data_key", key, f"{answer}: the rows are under `{key}`")


def _ids(answer: Probe, cal: Calibration) -> list[Any]:
    rows = rows_of(answer.body, cal) or []
    return [row.get("id", row.get("name")) if isinstance(row, dict) else row for row in rows]


def pick_list(prober: Prober, cal: Calibration, paths: list[str]) -> tuple[str, Probe] | None:
    """The first list with at least three rows: paging needs something to page."""
    for path in paths:
        answer = prober.send("GET", path)
        if answer.ok() and len(_ids(answer, cal)) >= 3:
            return path, answer
    return None


def probe_size_param(prober: Prober, cal: Calibration, path: str, full: int) -> str | None:
    for name in SIZE_PARAMS:
        answer = prober.send("GET", path, params={name: 2})
        if answer.ok() and len(_ids(answer, cal)) == 2 and full > 2:
            cal.set("pagination.size_param", name, f"{answer}: 2 rows where the default "
                    f"page held {full}")
            return name
    cal.unknown("pagination.size_param", f"none of {', '.join(SIZE_PARAMS)} shrank the "
                f"page of GET {path}")
    return None


def probe_page_param(prober: Prober, cal: Calibration, path: str, size: str) -> str | None:
    """The page parameter (a value that moves the window) and the first page number."""
    first = _ids(prober.send("GET", path, params={size: 1}), cal)
    for name in PAGE_PARAMS:
        second = prober.send("GET", path, params={size: 1, name: 2})
        if second.ok() and _ids(second, cal) and _ids(second, cal) != first:
            cal.set("pagination.page_param", name, f"{second}: another row than page one")
            one = prober.send("GET", path, params={size: 1, name: 1})
            zero = prober.send("GET", path, params={size: 1, name: 0})
            if _ids(one, cal) == first:
                cal.set("pagination.first_page", 1, f"{one} answers the first row; {zero}")
            elif zero.ok() and _ids(zero, cal) == first:
                cal.set("pagination.first_page", 0, f"{zero} answers the first row; "
                        f"{one} the second")
            else:
                cal.unknown("pagination.first_page", f"{one} and {zero}: neither is page one")
            return name
    cal.unknown("pagination.page_param", f"none of {', '.join(PAGE_PARAMS)} moved the "
                f"window of GET {path}")
    return None


def _meta_container(body: Any) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(body, dict):
        return None, {}
    key = first_key(body, META_KEYS)
    if key is None:
        key = next((k for k, v in body.items() if isinstance(v, dict) and
                    any(isinstance(x, int) for x in v.values())), None)
    if key is not None and isinstance(body.get(key), dict):
        return key, body[key]
    return None, body


def probe_totals(prober: Prober, cal: Calibration, path: str, params: dict[str, Any],
                 first_page: int) -> int | None:
    """Where the counts live: envelope keys (in a meta object or beside the rows), headers.
    Returns the total row count when the hub reports it."""
    answer = prober.send("GET", path, params=params)
    rows = len(_ids(answer, cal))
    meta_key, meta = _meta_container(answer.body)
    if cal.value("pagination.shape") == "envelope":
        cal.set("pagination.meta_key", meta_key,
                f"{answer}: counts under `{meta_key}`" if meta_key
                else f"{answer}: no object of counts (counts, if any, beside the rows)")
    names = {"total_key": TOTAL_KEYS, "pages_key": PAGES_KEYS, "page_key": PAGE_KEYS,
             "size_key": SIZE_KEYS}
    found: dict[str, Any] = {}
    for key, candidates in names.items():
        name = first_key(meta, candidates)
        if name is not None and not isinstance(meta.get(name), int):
            name = None
        found[key] = meta.get(name) if name else None
        if cal.value("pagination.shape") == "envelope":
            cal.set(f"pagination.{key}", name, f"{answer}: `{name}` = {meta[name]}" if name
                    else f"{answer}: no such count among {sorted(meta)}")
    total = found["total_key"]
    for key, candidates in (("total_header", TOTAL_HEADERS), ("pages_header", PAGES_HEADERS)):
        header = next((h for h in candidates if h in answer.headers), None)
        cal.set(f"pagination.{key}", header, f"{answer}: header `{header}`" if header
                else f"{answer}: no such header")
        if header and key == "total_header" and answer.headers[header].isdigit():
            total = total if total is not None else int(answer.headers[header])
    if total is None and rows and cal.value("pagination.shape") == "array":
        return None
    return total if isinstance(total, int) and total >= rows else None


def probe_sizes(prober: Prober, cal: Calibration, path: str, size: str, default_rows: int,
                total: int | None) -> None:
    """Default and largest page size; the answer to an out-of-range size or page."""
    if total is not None and default_rows < total:
        cal.set("pagination.default_size", default_rows,
                f"GET {path}: {default_rows} rows of {total} without a size")
    else:
        cal.unknown("pagination.default_size", f"GET {path} holds {default_rows} rows, all "
                    "on one page: the default size is not observable")
    huge = prober.send("GET", path, params={size: HUGE_SIZE})
    zero = prober.send("GET", path, params={size: 0})
    refused = next((p for p in (zero, huge) if p.rejected()), None)
    if refused is not None:
        cal.set("status.rejections.bad_page", refused.status, f"{refused}")
    elif huge.ok() and zero.ok():
        cal.set("status.rejections.bad_page", "any", f"{huge} and {zero}: the hub clamps")
    if huge.ok():
        rows = len(_ids(huge, cal))
        if total is not None and rows < total:
            cal.set("pagination.max_size", rows, f"{huge}: clamped to {rows} of {total}")
        else:
            cal.unknown("pagination.max_size", f"{huge}: every row fits one page")
        return
    _search_max(prober, cal, path, size, total)


def _search_max(prober: Prober, cal: Calibration, path: str, size: str,
                total: int | None) -> None:
    """The largest size the hub accepts, by bisection over refusals (<= 17 requests)."""
    low, high, last = 1, HUGE_SIZE, None
    while high - low > 1:
        mid = (low + high) // 2
        answer = prober.send("GET", path, params={size: mid})
        if answer.ok():
            low, last = mid, answer
        else:
            high = mid
    if last is not None:
        cal.set("pagination.max_size", low, f"{last}; {size}={high} refused")
    else:
        cal.unknown("pagination.max_size", "no size above 1 accepted")


def probe_pagination(prober: Prober, cal: Calibration, paths: list[str]) -> None:
    """Everything pagination: the list to page, its parameters, counts and sizes."""
    chosen = pick_list(prober, cal, paths)
    if chosen is None:
        for key in _PAGINATION:
            cal.unknown(f"pagination.{key}", "no list of the hub holds three rows to page "
                        "(--allow-writes creates some)")
        return
    path, answer = chosen
    record_shape(cal, answer)
    default_rows = len(_ids(answer, cal))
    size = probe_size_param(prober, cal, path, default_rows)
    if size is None:
        return
    page = probe_page_param(prober, cal, path, size)
    first_page = cal.value("pagination.first_page", 1)
    params = {size: 2, **({page: first_page} if page else {})}
    total = probe_totals(prober, cal, path, params, first_page)
    if total is None and cal.value("pagination.shape") == "envelope":
        total = _count_by_paging(prober, cal, path, size, page, first_page)
    probe_sizes(prober, cal, path, size, default_rows, total)


def _count_by_paging(prober: Prober, cal: Calibration, path: str, size: str,
                     page: str | None, first_page: int) -> int | None:
    """Without a reported total, count rows with large pages (bounded)."""
    if page is None:
        return None
    seen = 0
    for n in range(first_page, first_page + 5):
        answer = prober.send("GET", path, params={size: 1000, page: n})
        if not answer.ok():
            return None
        rows = len(_ids(answer, cal))
        seen += rows
        if rows == 0:
            return seen
    return None
