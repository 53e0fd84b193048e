"""Generated bad input for every command and input path (issue 16, "beyond these thirteen").

Files, stdin, environment values, URLs, assumption files, seeds, mappings, manifests: any
input gives exit 0, 1 or 2 (3 only where a target is contacted) with at most one line on
stderr, no exception escaping the command (a user would see a traceback), and within a few
seconds. Each example runs the command in-process, which keeps the whole suite bounded.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ihub_conformance.cli import main
from ihub_conformance.commands import serve
from ihub_conformance.hub.target import http_url_problem

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
PER_EXAMPLE_SECONDS = 20.0  # a hang detector, not a performance target (a loaded CI machine)
CLOSED_PORT = "http://127.0.0.1:9"


def _laughs(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _mutated(text: str, at: int, insert: str) -> str:
    at %= max(1, len(text))
    return text[:at] + insert + text[at + 1:]


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    max_size=12)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=10)
key = st.text(min_size=0, max_size=6).map(json.dumps)
bad_texts = st.one_of(
    st.builds(_laughs, st.integers(2, 9), st.integers(2, 9)),
    st.builds(lambda k, a, b: f"{{{k}: {a}, {k}: {b}}}", key, st.integers(), st.integers()),
    st.builds(lambda k: f"a:\n  {k}: 1\n  {k}: 2\n", st.text("abc", min_size=1, max_size=4)),
    st.integers(4301, 9000).map(lambda n: '{"a": ' + "9" * n + "}"),
    st.integers(4301, 9000).map(lambda n: "a: -" + "9" * n + "\n"),
    st.sampled_from(['{"a": 1e999}', '{"a": NaN}', "[-Infinity]", "a: &x [*x]\n",
                     "a: &x {b: *x}\n", "!!python/object:os.system {}", "a: !!binary xx",
                     "---\na: 1\n---\nb: 2\n", "", "\ufeff", "\x00", "a: [1, 2", "{"]),
    st.integers(50, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(50, 2000).map(lambda n: "".join("  " * i + "- \n" for i in range(n))),
    st.builds(_mutated, json_values.map(json.dumps), st.integers(0, 500),
              st.sampled_from(['"', "{", "]", ",", ":", "\\", "\x00", "\udcff"[:0], "\n"])),
    st.text(max_size=300),
    json_values.map(json.dumps),
)
bad_bytes = bad_texts.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=300)


def _check(argv: list[str], capsys, codes: set[int]) -> None:
    started = time.monotonic()
    code = main(argv)  # any exception escaping here is what a user would see as a traceback
    seconds = time.monotonic() - started
    err = capsys.readouterr().err
    assert code in codes, (argv, code, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 1, err
    assert seconds < PER_EXAMPLE_SECONDS, (argv, seconds)


def _file(tmp_path: Path, data: bytes, name: str = "input.yaml") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("kind", ["mapping", "event", "manifest", "widget", "progress",
                                  "events"])
@SETTINGS
@given(data=bad_bytes)
@example(data=_laughs(9, 9).encode())
def test_validate_files_and_stdin(tmp_path, capsys, monkeypatch, kind, data):
    _check(["validate", kind, _file(tmp_path, data)], capsys, {0, 1, 2})
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    _check(["validate", kind, "-", "--format", "json"], capsys, {0, 1, 2})


@settings(SETTINGS, max_examples=8)  # each run loads the catalog: the slowest path here
@given(data=bad_bytes, as_env=st.booleans())
def test_assumption_files_and_the_environment(tmp_path, capsys, monkeypatch, data, as_env):
    path = _file(tmp_path, data)
    # replay from a directory that does not exist: a file that passes never starts a run
    argv = ["run", "--target", "replay", "--cassette-dir", str(tmp_path / "none"),
            "--report-dir", str(tmp_path / "r")]
    if as_env:
        monkeypatch.setenv("IHUB_ASSUMPTIONS", path)
    else:
        argv += ["--assumptions", path]
    _check(argv, capsys, {2})


@SETTINGS
@given(data=bad_bytes, where=st.sampled_from(["--mapping", "env", "--runtime-manifest"]))
def test_gate_inputs(tmp_path, capsys, monkeypatch, data, where):
    monkeypatch.setenv("OPS_HUB_KEY", "canary-bad-input-key")
    argv = ["gate", "--target", CLOSED_PORT, "--report-dir", str(tmp_path / "r")]
    if where == "env":
        monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", data.decode("utf-8", "replace")
                           .replace("\x00", ""))
    else:
        argv += [where, _file(tmp_path, data)]
    _check(argv, capsys, {1, 2, 3})


url_junk = st.text(alphabet=st.sampled_from(list("[]:%@/?#.-0123456789abcxyz \t")),
                   max_size=30)
urls = st.one_of(
    st.builds(lambda s, rest: s + rest, st.sampled_from(["http://", "https://", "ftp://", ""]),
              url_junk),
    st.integers(65536, 10**30).map(lambda p: f"http://127.0.0.1:{p}"),
)


@SETTINGS
@given(url=urls, option=st.sampled_from(["run --target", "gate --target", "gate --state-hub",
                                         "calibrate --target", "calibrate --state-hub"]))
def test_urls(tmp_path, capsys, monkeypatch, url, option):
    assume(http_url_problem(url) is not None)  # a usable URL is contacted: preflight's tests
    monkeypatch.setenv("OPS_HUB_KEY", "canary-bad-input-key")
    command, flag = option.split()
    argv = [command, flag, url]
    argv += ["--out", str(tmp_path / "o.yaml")] if command == "calibrate" else [
        "--report-dir", str(tmp_path / "r")]
    if flag == "--state-hub":
        argv += ["--target", CLOSED_PORT]
    _check(argv, capsys, {1, 2, 3})


class _Started(Exception):
    """The seed was accepted and the hub would start: the input path is done."""


@SETTINGS
@given(data=bad_bytes)
def test_serve_seed_files(tmp_path, capsys, monkeypatch, data):
    def refuse_to_start(**kwargs):
        raise _Started

    monkeypatch.setattr(serve, "running_reference_hub", refuse_to_start)
    with contextlib.suppress(_Started):
        _check(["serve", "--port", "0", "--seed", _file(tmp_path, data)], capsys, {2})
