"""`validate events --jobs N`: the multi-process checker gives exactly the one-process output."""

from __future__ import annotations

import copy
import io
import itertools
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ihub_conformance.stream import parallel as stream_parallel
from ihub_conformance.stream import pipeline as event_stream
from ihub_conformance.stream import workers as stream_workers
from ihub_conformance.stream.parallel import check_file, chunk_spans, fork_available
from ihub_conformance.stream.pipeline import StreamSummary, check_stream, read_lines

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "fixtures" / "events"

pytestmark = pytest.mark.skipif(not fork_available(), reason="needs the fork start method")

from event_generator import gen  # noqa: E402


def _mixed_stream(path: Path, count: int = 600) -> None:
    """Valid events with every kind of problem, duplicates far apart, blank lines, no final
    newline: chunks of a few hundred bytes cut it into many pieces."""
    rng = random.Random(11)
    kinds = list(gen.SECRET_TEMPLATES)
    earlier: list[bytes] = []
    rows: list[bytes] = []
    for i, event in enumerate(gen.valid_events(count, seed=9)):
        line = orjson.dumps(event)
        roll = rng.random()
        if roll < 0.1:
            key, value = gen.fake_secret(rng.choice(kinds), rng)
            line = orjson.dumps(gen.insert_at_random_depth(copy.deepcopy(event), key, value, rng))
        elif roll < 0.15:
            broken = copy.deepcopy(event)
            broken["eventType"] = rng.choice(["ops-inventory-drift", "ops-access-path-checked"])
            line = orjson.dumps(broken)
        elif roll < 0.2:
            broken = copy.deepcopy(event)
            del broken["metadata"]["context_key"]
            line = orjson.dumps(broken)
        elif roll < 0.23:  # a SHOULD warning (ACS-01); kept for duplicates of warned lines
            broken = copy.deepcopy(event)
            del broken["metadata"]["attributes"]["observed_at"]
            line = orjson.dumps(broken)
            earlier.append(line)
        elif roll < 0.3 and earlier:
            line = rng.choice(earlier)  # a duplicate, often from a much earlier chunk
        elif roll < 0.33:
            line = line[: len(line) // 2]
        elif roll < 0.36:
            line = b"   "
        if i % 50 == 0:
            earlier.append(line)
        rows.append(line)
    path.write_bytes(b"\n".join(rows))  # the last line has no newline


def _one_process(path: Path) -> tuple[list[dict], dict]:
    summary = StreamSummary("v1")
    with open(path, "rb") as fh:
        found = [f.as_dict() for f in check_stream(read_lines(fh), summary=summary)]
    return found, vars(summary)


@pytest.mark.parametrize("chunk", [300, 4096, 1 << 20])
@pytest.mark.parametrize("in_memory", [True, False])
def test_parallel_findings_and_summary_equal_one_process(tmp_path: Path, chunk: int,
                                                         in_memory: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if not in_memory:  # every chunk streamed line by line (forked workers see this)
        monkeypatch.setattr(stream_workers, "IN_MEMORY_BYTES", 0)
    path = tmp_path / "mixed.jsonl"
    _mixed_stream(path)
    expected, expected_summary = _one_process(path)
    summary = StreamSummary("v1")
    found = [f.as_dict() for f in check_file(str(path), summary=summary, jobs=2,
                                             chunk_bytes=chunk)]
    assert found == expected
    assert vars(summary) == expected_summary
    kinds = {f["kind"] for f in found}
    assert {"duplicate", "secret", "malformed", "schema", "deferred", "warning"} <= kinds
    warned = {f["line"] for f in found if f["kind"] == "warning"}
    duplicated = {f["line"] for f in found if f["kind"] == "duplicate"}
    assert warned & duplicated and warned - duplicated  # both ways a warned line can end
    assert summary.blank > 0 and summary.valid > 0


@pytest.mark.parametrize("name", ["valid", "invalid-contract", "invalid-secrets", "malformed"])
def test_parallel_agrees_on_each_corpus(tmp_path: Path, name: str) -> None:
    path = EVENTS / f"{name}.jsonl"
    expected, expected_summary = _one_process(path)
    summary = StreamSummary("v1")
    found = [f.as_dict() for f in check_file(str(path), summary=summary, jobs=2,
                                             chunk_bytes=700)]
    assert found == expected and vars(summary) == expected_summary


def test_chunks_tile_the_file_at_line_starts(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    _mixed_stream(path, 200)
    data = path.read_bytes()
    spans = list(chunk_spans(str(path), 333))
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert all(data[start - 1:start] == b"\n" for start, _ in spans[1:])


def test_cli_jobs_output_is_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    _mixed_stream(path)
    outputs = {}
    for jobs in ("1", "2"):
        for fmt in ("text", "json"):
            done = subprocess.run([sys.executable, "-m", "ihub_conformance.cli", "validate",
                                   "events", str(path), "--format", fmt, "--jobs", jobs],
                                  capture_output=True, check=False)
            assert done.returncode == 1, done.stderr
            outputs[jobs, fmt] = done.stdout
    assert outputs["1", "text"] == outputs["2", "text"]
    assert outputs["1", "json"] == outputs["2", "json"]
    assert json.loads(outputs["2", "json"])["invalid"] > 0


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.lists(st.sampled_from([b"a", b"{}", b"\n", b"\r", b"\r\n", b"\x0b", b"\x85"]),
                     max_size=30).map(b"".join))
def test_chunks_split_into_the_lines_read_lines_gives(data: bytes) -> None:
    assert list(stream_workers.split_lines(data)) == list(read_lines(io.BytesIO(data)))


def test_jobs_auto_goes_parallel_only_for_big_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from ihub_conformance.cli import main
    from ihub_conformance.commands import events as events_command

    assert stream_parallel.auto_jobs(stream_parallel.AUTO_PARALLEL_BYTES - 1) == 1
    assert 1 <= stream_parallel.auto_jobs(stream_parallel.AUTO_PARALLEL_BYTES) <= 4
    path = tmp_path / "mixed.jsonl"
    _mixed_stream(path)
    used: list[int] = []
    real = stream_parallel.check_file

    def spy(*args, **kwargs):
        used.append(kwargs["jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(events_command, "check_file", spy)
    outputs = []
    for jobs in (1, 2):  # what auto picks for a small file, then for a big one
        monkeypatch.setattr(events_command, "auto_jobs", lambda size, n=jobs: n)
        assert main(["validate", "events", str(path)]) == 1
        outputs.append(capsys.readouterr().out)
    assert used == [2] and outputs[0] == outputs[1]


def _no_children_left() -> bool:
    """True when this process has no child, running or unreaped."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_a_worker_error_is_raised_in_the_caller(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    stream = tmp_path / "events.jsonl"
    _mixed_stream(stream)

    def broken(path: str, start: int, end: int, contract: str) -> None:
        if start > 0:
            raise OSError(5, "Input/output error")
        return real(path, start, end, contract)

    real = stream_workers.check_chunk
    monkeypatch.setattr(stream_workers, "check_chunk", broken)
    with pytest.raises(OSError, match="Input/output error"):
        list(check_file(str(stream), jobs=2, chunk_bytes=2000))
    assert _no_children_left()


def test_a_worker_that_dies_is_reported_not_waited_for(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    stream = tmp_path / "events.jsonl"
    _mixed_stream(stream)
    monkeypatch.setattr(stream_workers, "check_chunk", lambda *_: os._exit(9))
    with pytest.raises(RuntimeError, match="exited without its results"):
        list(check_file(str(stream), jobs=2, chunk_bytes=2000))
    assert _no_children_left()


def test_stopping_early_leaves_no_worker_behind(tmp_path: Path) -> None:
    stream = tmp_path / "events.jsonl"
    _mixed_stream(stream)
    findings = check_file(str(stream), jobs=2, chunk_bytes=300)
    next(findings)
    findings.close()  # the caller stops reading (say, `head` closed the pipe)
    assert _no_children_left()


# -- stdin and pipes (check_pipe) ---------------------------------------------------------
@pytest.mark.parametrize("chunk", [300, 4096, 1 << 20])
def test_a_pipe_checked_in_parallel_gives_the_one_process_findings(tmp_path: Path,
                                                                    chunk: int) -> None:
    path = tmp_path / "mixed.jsonl"
    _mixed_stream(path)
    expected = _one_process(path)
    summary = StreamSummary("v1")
    with open(path, "rb") as fh:
        found = [f.as_dict() for f in stream_parallel.check_pipe(fh, summary=summary, jobs=2,
                                                                 chunk_bytes=chunk)]
    assert (found, vars(summary)) == expected
    assert _no_children_left()


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.lists(st.sampled_from([b"a", b"bcdefgh", b"{}", b"\n", b"\r", b"\r\n",
                                      b"x" * 40]), max_size=40).map(b"".join),
       chunk=st.integers(1, 50))
def test_pipe_chunks_give_the_lines_read_lines_gives(data: bytes, chunk: int) -> None:
    # Lines of 64 bytes or more stand in for over-long ones (MAX_LINE_BYTES, lowered).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(event_stream, "MAX_LINE_BYTES", 64)
        got = list(stream_parallel.lines_of(stream_parallel.pipe_chunks(io.BytesIO(data),
                                                                         chunk)))
    assert got == list(read_lines(io.BytesIO(data), 64))


def test_cli_jobs_on_stdin_output_is_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    _mixed_stream(path, 12_000)  # over two chunks (CHUNK_BYTES): the workers are used
    assert path.stat().st_size > 2 * stream_parallel.CHUNK_BYTES
    outputs = {}
    for jobs in ("1", "2"):
        done = subprocess.run([sys.executable, "-m", "ihub_conformance.cli", "validate",
                               "events", "-", "--format", "json", "--jobs", jobs],
                              input=path.read_bytes(), capture_output=True, check=False)
        assert done.returncode == 1, done.stderr
        outputs[jobs] = done.stdout
    assert outputs["1"] == outputs["2"]
    result = json.loads(outputs["2"])
    assert result["lines"] + result["summary"]["blank_lines"] == 12_000


def test_a_pipe_workers_error_is_raised_and_no_worker_is_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.jsonl"
    _mixed_stream(path)
    monkeypatch.setattr(stream_workers, "check_data", lambda *_: 1 / 0)
    with open(path, "rb") as fh, pytest.raises(ZeroDivisionError):
        list(stream_parallel.check_pipe(fh, jobs=2, chunk_bytes=2000))
    assert _no_children_left()
    with open(path, "rb") as fh:
        findings = stream_parallel.check_pipe(fh, jobs=2, chunk_bytes=300)
        monkeypatch.undo()
        next(findings, None)
        findings.close()
    assert _no_children_left()


def test_sending_to_a_worker_that_has_ended_is_left_to_receive_to_report() -> None:
    def work(_inbox: object) -> Iterator[object]:
        raise ZeroDivisionError
        yield  # a generator, as the workers' loops are

    worker = stream_workers.Worker(work, inbox=True)
    try:
        with pytest.raises(ZeroDivisionError):
            worker.receive()
        os.waitpid(worker.pid, 0)  # gone, its end of the inbox with it
        worker.send(b"\0" * 16)  # no BrokenPipeError: the failure was reported in order
    finally:
        worker.stop()
        worker.stop()  # twice is harmless: a reaped pid is never signalled
    assert _no_children_left()
