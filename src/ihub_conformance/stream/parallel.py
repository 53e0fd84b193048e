"""Check JSON Lines with several worker processes; same findings, same order.

`check_file(path, jobs=N)` cuts a file into byte ranges that start at line starts
(`CHUNK_BYTES` each, a little more to finish the last line); each of N forked workers reads
and checks its share. `check_pipe(stream, jobs=N)` serves stdin and pipes: the parent
reads the stream in chunks of whole lines and passes them to the workers through a ring
of slots in shared memory. Either way a worker runs `event_stream`'s checking loop. It
cannot know the lines before its chunk, so it reports every line's idempotency-key hash
instead of judging duplicates; the parent takes the chunks in order, resolves duplicates
against one `KeyIndex` in line order and adds the duplicate finding to each line exactly
where the one-process loop puts it (last). Findings, their order, line numbers and the
summary equal `check_stream`'s (`workers` has the workers, their tasks and the merge).

Memory stays bounded: a worker has at most one result waiting in its pipe (and, for a
pipe, two chunks in the ring), a file chunk is read at once only up to 8 MB (else line by
line), and results carry only findings plus 16 bytes per keyed line. A worker's failure is
raised in the parent.

Workers are forked, so they share the parent's compiled validators and its string-hash
secret (Python's `hash` is the key hash in both modes). Where fork is unavailable, the
input is checked in this process.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import struct
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import IO, Any

from ihub_conformance.stream import pipeline as _es
from ihub_conformance.stream import workers as tasks
from ihub_conformance.stream.pipeline import Finding, StreamSummary
from ihub_conformance.stream.workers import (
    ChunkResult,
    Worker,
    collect,
    compile_tier,
    result_of,
    split_lines,
    stopping,
)

CHUNK_BYTES = 1 << 21  # ~4,000 events of 500 bytes: small results, enough work per task
def chunk_spans(path: str, chunk: int) -> Iterator[tuple[int, int]]:
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
    spans = list(chunk_spans(path, chunk_bytes)) if jobs > 1 and fork_available() else []
    jobs = min(jobs, len(spans))
    if jobs <= 1:
        with open(path, "rb") as fh:
            yield from _es.check_stream(_es.read_lines(fh), contract=contract, summary=summary)
        return
    compile_tier(contract)
    # Worker j checks chunks j, j + jobs, ... itself (it reads the file) and sends each
    # result down its own pipe; the parent reads them in file order.
    with stopping([]) as workers:
        for j in range(jobs):
            workers.append(Worker(lambda _inbox, mine=spans[j::jobs]: (
                tasks.check_chunk(path, start, end, contract) for start, end in mine),
                siblings=workers))
        yield from collect(workers, summary, lambda: len(spans))


def check_pipe(stream: IO[bytes], *, contract: str = "v1",
               summary: StreamSummary | None = None, jobs: int = 2,
               chunk_bytes: int = CHUNK_BYTES) -> Iterator[Finding]:
    """Findings for a JSON Lines stream that cannot seek (stdin, a pipe), by `jobs` processes.

    The parent reads the stream in chunks of whole lines (`_payloads`; findings come a
    chunk at a time) and hands each to a worker through a ring of slots in anonymous
    shared memory; a pipe carries only the slot's number, so the parent never blocks on
    a worker. A stream of less than two chunks is checked in this process.
    """
    summary = summary if summary is not None else StreamSummary(contract)
    payloads = pipe_chunks(stream, chunk_bytes)
    head = list(islice(payloads, 2)) if jobs > 1 and fork_available() else []
    jobs = min(jobs, len(head))
    if jobs <= 1:
        yield from _es.check_stream(lines_of(chain(head, payloads)), contract=contract,
                                    summary=summary)
        return
    compile_tier(contract)
    slots = 2 * jobs  # two chunks in flight per worker: one being checked, one waiting
    slot_bytes = chunk_bytes + _es.MAX_LINE_BYTES  # a chunk plus a line left over
    # Anonymous shared memory: the workers forked below see the parent's writes, and the
    # input (secrets and all) never touches the disk.
    with mmap.mmap(-1, slots * slot_bytes) as ring, stopping([]) as workers:
        for _ in range(jobs):
            workers.append(Worker(lambda inbox: _check_slots(inbox, ring, slot_bytes,
                                                              contract),
                                   inbox=True, siblings=workers))
        source = chain(head, payloads)
        sent = 0

        def send_next() -> None:
            nonlocal sent
            payload = next(source, _END)
            if payload is _END:
                for worker in workers:
                    worker.close_inbox()  # the worker stops after what it was sent
                return
            slot = sent % slots
            if payload is not None:
                ring[slot * slot_bytes:slot * slot_bytes + len(payload)] = payload
            workers[sent % jobs].send(struct.pack("qq", slot, -1 if payload is None
                                                  else len(payload)))
            sent += 1

        for _ in range(slots):
            send_next()
        # Result i frees slot i % slots: the chunk it held was read before it was checked.
        yield from collect(workers, summary, lambda: sent, send_next)


_END: Any = object()


def _check_slots(inbox: Any, ring: mmap.mmap, slot_bytes: int, contract: str,
                 ) -> Iterator[ChunkResult]:
    """A pipe worker's loop: (slot, length) messages until the parent closes the inbox."""
    while True:
        try:
            slot, length = struct.unpack("qq", inbox.recv_bytes())
        except EOFError:
            return
        if length < 0:  # one line longer than MAX_LINE_BYTES, already skipped
            yield result_of([_es.OVERLONG], contract, lambda: 1)
        else:
            yield tasks.check_data(ring[slot * slot_bytes:slot * slot_bytes + length], contract)


def pipe_chunks(stream: IO[bytes], chunk_bytes: int) -> Iterator[bytes | None]:
    """`stream` in chunks of whole lines (about `chunk_bytes`; the last may lack its
    newline), with None standing for a line of MAX_LINE_BYTES or more: it is skipped
    without being held, as read_lines does. Memory: one chunk plus one short line."""
    limit = _es.MAX_LINE_BYTES
    carry = b""
    while block := stream.read(chunk_bytes):
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        carry = data[cut:]
        if len(carry) >= limit:  # a line that long is over-long whatever follows
            yield None
            carry = _skip_line(stream, chunk_bytes)
            if carry is None:
                return
    if carry:
        yield carry


def _skip_line(stream: IO[bytes], chunk_bytes: int) -> bytes | None:
    """Read past the end of the current line; what follows it, or None at the end."""
    while block := stream.read(chunk_bytes):
        end = block.find(b"\n")
        if end >= 0:
            return block[end + 1:]
    return None


def lines_of(payloads: Iterable[bytes | None]) -> Iterator[bytes]:
    """The lines read_lines would give for the stream `payloads` came from."""
    for payload in payloads:
        if payload is None:
            yield _es.OVERLONG
        else:
            yield from split_lines(payload)


AUTO_PARALLEL_BYTES = 8 << 20  # 4 chunks: below this, forking workers saves little (measured:
# 5 MB took 0.047 s in one process and 0.040 s in two; 20 MB, 0.18 s and 0.13 s)


def auto_jobs(size: int) -> int:
    """Worker processes `--jobs auto` uses for a regular file of `size` bytes."""
    if size < AUTO_PARALLEL_BYTES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))  # what this process may use (cgroups, taskset)
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))
