"""Forked workers for stream_parallel, and the parent's in-order merge of their results.

A worker runs a generator of `ChunkResult`s (one per chunk it checks) in a forked process
and sends each down its own pipe; `collect` reads chunk i from worker i % jobs, resolves
duplicate idempotency keys across chunks in line order (`_merge`) and stops the workers
however the caller's loop ends. A worker's exception is raised in the parent.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from ihub_conformance.secrets.scan import prefilter_validator
from ihub_conformance.stream import pipeline as _es
from ihub_conformance.stream.fastpath import fast_path
from ihub_conformance.stream.pipeline import Finding, StreamSummary
from ihub_conformance.validation.engine import validator_for


@dataclass
class ChunkResult:
    raw_lines: int  # lines read, blank ones included (line numbers advance by this)
    valid: int  # lines without findings of their own (a duplicate may still hit them)
    blank: int
    findings: list[Finding]  # chunk-relative line numbers, in line order
    numbers: array  # chunk-relative line number of each keyed line
    hashes: array  # its idempotency-key hash


IN_MEMORY_BYTES = 1 << 23  # chunks up to this size are read at once


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


def check_chunk(path: str, start: int, end: int, contract: str) -> ChunkResult:
    """A file worker's task: check bytes [start, end) of the file at `path`."""
    with open(path, "rb") as fh:
        fh.seek(start)
        if end - start <= IN_MEMORY_BYTES:
            return check_data(fh.read(end - start), contract)  # the usual chunk
        # A chunk grown by very long lines: stream it.
        counted = _Counted(_es.read_lines(_Window(fh, end - start)))  # type: ignore[arg-type]
        return result_of(counted, contract, lambda: counted.n)


class _Counted:
    """An iterator that counts what it yields (raw lines, blank ones too)."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self._it, self.n = it, 0

    def __iter__(self) -> Iterator[bytes]:
        for item in self._it:
            self.n += 1
            yield item


def check_data(data: bytes, contract: str) -> ChunkResult:
    """A chunk in memory: `split_lines` cuts it exactly as read_lines cuts the stream. One raw
    line per newline, plus an unterminated last line."""
    raw_lines = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
    return result_of(split_lines(data), contract, lambda: raw_lines)


def result_of(lines: Any, contract: str, raw_lines: Callable[[], int]) -> ChunkResult:
    summary = StreamSummary(contract)
    log = _es.KeyLog()
    found = list(_es.check_lines(lines, contract, summary, log, 0))
    return ChunkResult(raw_lines(), summary.valid, summary.blank, found, log.numbers,
                        log.hashes)


def split_lines(data: bytes) -> list[bytes] | Iterator[bytes]:
    """`read_lines` over `data`, as one C-speed split when that gives the same lines."""
    # bytes.splitlines also splits at \r, and read_lines cuts lines of MAX_LINE_BYTES.
    if b"\r" not in data:
        lines = data.splitlines(keepends=True)
        if not lines or max(map(len, lines)) < _es.MAX_LINE_BYTES:
            return lines
    return _es.read_lines(io.BytesIO(data), _es.MAX_LINE_BYTES)


def compile_tier(contract: str) -> None:
    # Once, before the workers fork (each would otherwise pay ~0.2 s).
    fast_path(validator_for("event", contract).version)
    prefilter_validator()


def collect(workers: list[Worker], summary: StreamSummary, chunks: Callable[[], int],
             after: Callable[[], None] = lambda: None) -> Iterator[Finding]:
    """Results in order (chunk i from worker i % jobs), merged, while fewer than `chunks()`
    have arrived; `after()` runs as each result arrives."""
    keys = _es.KeyIndex()
    offset = index = 0
    jobs = len(workers)
    while index < chunks():
        result = workers[index % jobs].receive()
        index += 1
        after()
        yield from _merge(result, offset, keys, summary)
        offset += result.raw_lines
    summary.distinct_keys = len(keys)


@contextmanager
def stopping(workers: list[Worker]) -> Iterator[list[Worker]]:
    """`workers` (filled inside the block), all stopped however the block ends: at the
    end, on an error (a failed fork among them), or when the caller stops reading."""
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


class Worker:
    """A forked process sending the results `work(inbox)` yields, in order, down a pipe.

    With `inbox`, the parent sends it short messages (`send`) that `work` reads from its
    end of a second pipe until `close_inbox`.
    """

    def __init__(self, work: Callable[[Any], Iterator[ChunkResult]], inbox: bool = False,
                 siblings: list[Worker] | None = None) -> None:
        reader, writer = multiprocessing.Pipe(duplex=False)
        inbox_reader, inbox_writer = multiprocessing.Pipe(duplex=False) if inbox else (None, None)
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's frames
            reader.close()
            if inbox_writer is not None:
                inbox_writer.close()
            for sibling in siblings or ():  # their pipe ends, inherited: the parent's alone
                sibling._reader.close()
                sibling.close_inbox()
            code = 0
            try:
                for result in work(inbox_reader):
                    writer.send_bytes(pickle.dumps(result))
            except BaseException as exc:  # reported to the parent, raised there
                code = 1
                with suppress(BaseException):
                    writer.send_bytes(pickle.dumps(_Failed(_picklable(exc))))
            finally:
                os._exit(code)
        writer.close()
        if inbox_reader is not None:
            inbox_reader.close()
        self.pid, self._reader, self._inbox = pid, reader, inbox_writer
        self._stopped = False

    def send(self, message: bytes) -> None:
        assert self._inbox is not None
        with suppress(BrokenPipeError):  # the worker has ended: `receive` reports why
            self._inbox.send_bytes(message)

    def close_inbox(self) -> None:
        if self._inbox is not None and not self._inbox.closed:
            self._inbox.close()

    def receive(self) -> ChunkResult:
        try:
            item = pickle.loads(self._reader.recv_bytes())  # noqa: S301 (our own child)
        except EOFError:
            raise RuntimeError(f"worker process {self.pid} exited without its results "
                               "(killed or out of memory?)") from None
        if isinstance(item, _Failed):
            raise item.error
        return item

    def stop(self) -> None:
        if self._stopped:
            return  # reaped: its pid may belong to another process by now
        self._stopped = True
        self.close_inbox()
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


def _merge(result: ChunkResult, offset: int, keys: _es.KeyIndex,
           summary: StreamSummary) -> Iterator[Finding]:
    """One chunk's findings, renumbered, with duplicates resolved in line order."""
    note = keys.note
    dups = [number for number, h in zip(result.numbers, result.hashes, strict=True)
            if not note(number, h)]
    by_line: dict[int, list[Finding]] = {}
    for f in result.findings:
        by_line.setdefault(f.line, []).append(f)
    demoted = 0  # lines the worker counted valid (no findings, or warnings only): duplicates
    for number in dups:
        found = by_line.setdefault(number, [])
        demoted += not _es.is_invalid(found)
        found.append(Finding(number, _es.DUPLICATE, "/metadata/idempotency_key",
                             _es.DUPLICATE_REASON))
    counts: Counter[str] = summary.counts
    for number in sorted(by_line):
        found = [Finding(offset + number, *f[1:]) for f in by_line[number]]
        if _es.is_invalid(found):  # a warnings-only line is among result.valid
            summary.lines += 1
            summary.invalid += 1
        for f in found:
            counts[f.kind] += 1
        yield from found
    summary.valid += result.valid - demoted
    summary.lines += result.valid - demoted
    summary.blank += result.blank
