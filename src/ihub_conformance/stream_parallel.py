"""Check a JSON Lines file with several worker processes; same findings, same order.

`check_file(path, jobs=N)` cuts the file into byte ranges that start at line starts
(`CHUNK_BYTES` each, a little more to finish the last line) and has N forked workers run
`event_stream`'s checking loop on them. A worker cannot know the lines before its chunk,
so it reports every line's idempotency-key hash instead of judging duplicates; the parent
takes the chunks in file order, resolves duplicates against one `_KeyIndex` in line order
and adds the duplicate finding to each line exactly where the one-process loop puts it
(last). Findings, their order, line numbers and the summary equal `check_stream`'s.

Memory stays bounded: a worker has at most one result waiting in its pipe, a chunk is
read at once only up to 8 MB (else line by line), and results carry only findings plus 16
bytes per keyed line. A worker's failure is raised in the parent.

Workers are forked, so they share the parent's compiled validators and its string-hash
secret (Python's `hash` is the key hash in both modes). Where fork is unavailable, or for
stdin, the file is checked in this process.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ihub_conformance import event_stream as _es
from ihub_conformance.event_stream import Finding, StreamSummary

CHUNK_BYTES = 1 << 21  # ~4,000 events of 500 bytes: small results, enough work per task
_IN_MEMORY = 1 << 23  # chunks up to this size are read at once


@dataclass
class _ChunkResult:
    raw_lines: int  # lines read, blank ones included (line numbers advance by this)
    valid: int  # lines without findings of their own (a duplicate may still hit them)
    blank: int
    findings: list[Finding]  # chunk-relative line numbers, in line order
    numbers: array  # chunk-relative line number of each keyed line
    hashes: array  # its idempotency-key hash


class _Window:
    """`readline` over bytes [start, end) of an open file (feeds `read_lines`)."""

    def __init__(self, fh: Any, size: int) -> None:
        self._fh, self._left = fh, size

    def readline(self, limit: int) -> bytes:
        if self._left <= 0:
            return b""
        data: bytes = self._fh.readline(min(limit, self._left))
        self._left -= len(data)
        return data


def _check_chunk(path: str, start: int, end: int, contract: str) -> _ChunkResult:
    summary = StreamSummary(contract)
    numbers, hashes = array("q"), array("q")
    keyed = (numbers, hashes)
    with open(path, "rb") as fh:
        fh.seek(start)
        if end - start <= _IN_MEMORY:
            # The usual chunk: read at once; read_lines over BytesIO splits it exactly as
            # it splits the file. One item per newline, plus an unterminated last line.
            data = fh.read(end - start)
            raw_lines = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
            found = list(_es._check_lines(_split(data), contract, summary, None, keyed, 0))
        else:  # a chunk grown by very long lines: stream it
            counted = _Counted(_es.read_lines(_Window(fh, end - start)))  # type: ignore[arg-type]
            found = list(_es._check_lines(counted, contract, summary, None, keyed, 0))
            raw_lines = counted.n
    return _ChunkResult(raw_lines, summary.valid, summary.blank, found, numbers, hashes)


def _split(data: bytes) -> list[bytes] | Iterator[bytes]:
    """`read_lines` over `data`, as one C-speed split when that gives the same lines."""
    # bytes.splitlines also splits at \r, and read_lines cuts lines of MAX_LINE_BYTES.
    if b"\r" not in data:
        lines = data.splitlines(keepends=True)
        if not lines or max(map(len, lines)) < _es.MAX_LINE_BYTES:
            return lines
    return _es.read_lines(io.BytesIO(data))


class _Counted:
    """An iterator that counts what it yields (raw lines, blank ones too)."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self._it, self.n = it, 0

    def __iter__(self) -> Iterator[bytes]:
        for item in self._it:
            self.n += 1
            yield item


def _boundaries(path: str, chunk: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of `path`, each starting at a line start (never reads a whole line)."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            pos = start + chunk
            if pos >= size:
                yield start, size
                return
            fh.seek(pos - 1)  # the byte before: a newline there means `pos` starts a line
            while True:
                piece = fh.readline(_es.MAX_LINE_BYTES)
                if not piece or piece.endswith(b"\n"):
                    break
            end = fh.tell()
            yield start, end
            start = end


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def check_file(path: str, *, contract: str = "v1", summary: StreamSummary | None = None,
               jobs: int = 2, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Finding]:
    """Findings for the JSON Lines file at `path`, checked by `jobs` processes (lazy)."""
    summary = summary if summary is not None else StreamSummary(contract)
    spans = list(_boundaries(path, chunk_bytes)) if jobs > 1 and fork_available() else []
    jobs = min(jobs, len(spans))
    if jobs <= 1:
        with open(path, "rb") as fh:
            yield from _es.check_stream(_es.read_lines(fh), contract=contract, summary=summary)
        return
    # Compile once, before the workers fork (each would otherwise pay ~0.2 s).
    _es.stream_fastpath.fast_path(_es.validator_for("event", contract).version)
    _es.secret_scan.prefilter_validator()
    keys = _es._KeyIndex()
    offset = 0
    # Worker j checks chunks j, j + jobs, ... and sends each result down its own pipe; the
    # parent reads them in file order. No task queue and no helper threads (a Pool's cost
    # ~0.1 s of parent CPU per 200,000 events, taken from the workers on a busy machine);
    # a worker blocks on its pipe until its previous result is read, so memory stays
    # bounded by one result per worker.
    workers = [_Worker(path, spans[j::jobs], contract) for j in range(jobs)]
    try:
        for index in range(len(spans)):
            result = workers[index % jobs].receive()
            yield from _merge(result, offset, keys, summary)
            offset += result.raw_lines
    finally:
        for worker in workers:
            worker.stop()
    summary.distinct_keys = sum(len(b) for b in keys.buckets)


class _Worker:
    """A forked process checking its share of the chunks, in order, into a pipe."""

    def __init__(self, path: str, spans: list[tuple[int, int]], contract: str) -> None:
        reader, writer = multiprocessing.Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's frames
            reader.close()
            code = 0
            try:
                for start, end in spans:
                    writer.send_bytes(pickle.dumps(_check_chunk(path, start, end, contract)))
            except BaseException as exc:  # reported to the parent, raised there
                code = 1
                with suppress(BaseException):
                    writer.send_bytes(pickle.dumps(_Failed(_picklable(exc))))
            finally:
                os._exit(code)
        writer.close()
        self.pid, self._reader = pid, reader

    def receive(self) -> _ChunkResult:
        try:
            item = pickle.loads(self._reader.recv_bytes())  # noqa: S301 (our own child)
        except EOFError:
            raise RuntimeError(f"worker process {self.pid} exited without its results "
                               "(killed or out of memory?)") from None
        if isinstance(item, _Failed):
            raise item.error
        return item

    def stop(self) -> None:
        self._reader.close()
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # done already, or the caller gave up early
        with suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


@dataclass
class _Failed:
    error: BaseException


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 (a round trip of our own object)
    except Exception:  # any failure: send a plain description instead
        return RuntimeError(f"worker failed: {type(exc).__name__}: {exc}")
    return exc


def _merge(result: _ChunkResult, offset: int, keys: _es._KeyIndex,
           summary: StreamSummary) -> Iterator[Finding]:
    """One chunk's findings, renumbered, with duplicates resolved in line order."""
    buckets = keys.buckets
    dups: list[int] = []
    for number, h in zip(result.numbers, result.hashes, strict=True):
        bucket = buckets[h & 4095]
        i = bisect_left(bucket, h)
        if i == len(bucket) or bucket[i] != h:
            bucket.insert(i, h)
        else:
            dups.append(number)
    by_line: dict[int, list[Finding]] = {}
    for f in result.findings:
        by_line.setdefault(f.line, []).append(f)
    dup_only = 0
    for number in dups:
        if number not in by_line:
            by_line[number] = []
            dup_only += 1
        by_line[number].append(Finding(number, _es.DUPLICATE, "/metadata/idempotency_key",
                                       _es.DUPLICATE_REASON))
    counts: Counter[str] = summary.counts
    for number in sorted(by_line):
        found = [Finding(offset + number, *f[1:]) for f in by_line[number]]
        summary.lines += 1
        summary.invalid += 1
        for f in found:
            counts[f.kind] += 1
        yield from found
    summary.valid += result.valid - dup_only
    summary.lines += result.valid - dup_only
    summary.blank += result.blank
