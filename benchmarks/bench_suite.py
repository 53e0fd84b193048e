"""Benchmark the conformance suite: replay and reference run times, requests and writes per run.

Every phase is a fresh pytest process (what a user or CI pays), measured in this run:

* empty      - pytest on an empty directory with the same plugins loaded (the entry
               points: ihub_conformance, pytest-recording, allure-pytest, ...): the floor;
* replay     - the suite from the cassettes (--ihub-target replay), no network; once
               as run (the Schemathesis module is imported, its tests skip) and once
               without that module;
* reference  - the suite against the embedded reference hub, hand-written tests only
               and the full suite with Schemathesis (default example budget);
* counted    - the full suite against `ihub-conformance serve` in its own process
               (as a live URL with --ihub-allow-writes); the hub's access log counts
               every request the hub saw, including Schemathesis', and the 2xx POSTs
               (objects written), beside the suite's own counters.

Prints the median wall time per phase and its ratio to the empty session, requests
and writes per run, and the loopback latency of one keep-alive GET to the served
hub (the floor under the per-request cost of a reference run).

Usage: python benchmarks/bench_suite.py [--repeat N] [--examples N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "conformance"
START_TIMEOUT = 30.0
RUN_TIMEOUT = 600.0
LATENCY_REQUESTS = 30
SLOW_LOOPBACK_S = 0.02


def _pytest(target: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *target, "-q", "-p", "no:cacheprovider",
            f"--rootdir={ROOT}", *extra]


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=RUN_TIMEOUT, check=False)
    return time.perf_counter() - started, done.returncode


def _median_run(command: list[str], repeat: int, ok_codes: tuple[int, ...],
                env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(repeat):
        seconds, code = _timed(command, env)
        if code not in ok_codes:
            raise SystemExit(f"bench_suite: {' '.join(command[2:6])}... exited {code}")
        times.append(seconds)
    return statistics.median(times)


def _results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _counts(results: dict[str, Any]) -> str:
    tests = results["tests"]
    by = Counter(t["outcome"] for t in tests)
    return f"{len(tests)} tests ({', '.join(f'{n} {k}' for k, n in sorted(by.items()))})"


# -- the served hub with an access log ---------------------------------------------------------


def _start_served_hub(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "ihub_conformance.cli", "serve", "--port", "0"]
    with log.open("w", encoding="utf-8") as stream:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=stream,
                                text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if "listening on" in line:
                return proc, line.rsplit(" ", 1)[-1].strip()
            if not line and proc.poll() is not None:
                break
    proc.kill()
    raise SystemExit("bench_suite: the served reference hub did not start")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _access_log(log: Path) -> tuple[int, Counter[str], int]:
    """Requests the hub answered, by method, and POSTs answered 2xx (objects written)."""
    methods: Counter[str] = Counter()
    written = 0
    for line in log.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[2].isdigit() or not parts[1].startswith("/"):
            continue  # not an access-log line
        methods[parts[0]] += 1
        written += parts[0] == "POST" and parts[2].startswith("2")
    return sum(methods.values()), methods, written


def _keep_alive_latency(url: str, key: str) -> float:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        client.get("/api/v2/event-types")
        started = time.perf_counter()
        for _ in range(LATENCY_REQUESTS):
            client.get("/api/v2/event-types").raise_for_status()
        return (time.perf_counter() - started) / LATENCY_REQUESTS


def _counted_run(examples: int, tmp: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["OPS_HUB_KEY"] = secrets.token_urlsafe(32)
    env["IHUB_UNBOUND_KEY"] = secrets.token_urlsafe(32)
    log = tmp / "access.log"
    proc, url = _start_served_hub(env, log)
    try:
        latency = _keep_alive_latency(url, env["OPS_HUB_KEY"])
        before, _, _ = _access_log(log)
        results_path = tmp / "counted.json"
        # The served hub is also the State Hub (/progress/): no fallback test skips.
        assumptions = tmp / "assumptions.json"
        assumptions.write_text(json.dumps({"state_hub": {"url": url}}), encoding="utf-8")
        seconds, code = _timed(_pytest(
            [str(SUITE)], "--ihub-target", url, "--ihub-allow-writes",
            "--ihub-assumptions", str(assumptions),
            "--ihub-schemathesis-examples", str(examples), "--ihub-results", str(results_path),
        ), env)
    finally:
        _stop(proc)
    if code != 0:
        raise SystemExit(f"bench_suite: the suite against the served hub exited {code}")
    total, methods, written = _access_log(log)
    results = _results(results_path)
    return {"seconds": seconds, "latency": latency, "requests": total - before,
            "methods": methods, "written": written, "suite_requests": results["requests"],
            "suite_written": len(results["written"]), "counts": _counts(results)}


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per phase; the median counts (default 3)")
    parser.add_argument("--examples", type=int, default=10,
                        help="Schemathesis examples per operation (default 10)")
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as name:
        tmp = Path(name)
        empty = tmp / "empty"
        empty.mkdir()
        replay_json, reference_json = tmp / "replay.json", tmp / "reference.json"
        print(f"bench_suite: {repeat} run(s) per phase, median wall time; "
              f"{os.cpu_count()} CPUs", flush=True)
        t_empty = _median_run(_pytest([str(empty)]), repeat, (0, 5))
        t_replay = _median_run(_pytest([str(SUITE)], "--ihub-target", "replay",
                                       "--ihub-results", str(replay_json)), repeat, (0,))
        # Replay collects the Schemathesis module (its tests then skip): the import and
        # the OpenAPI bundling are part of what a replay costs; this run shows how much.
        t_replay_hand = _median_run(_pytest([str(SUITE)], "--ihub-target", "replay",
                                            f"--ignore-glob={SUITE}/*schemathesis*"),
                                    repeat, (0,))
        t_hand = _median_run(_pytest([str(SUITE)], f"--ignore-glob={SUITE}/*schemathesis*"),
                             repeat, (0,))
        t_full = _median_run(_pytest([str(SUITE)], "--ihub-schemathesis-examples",
                                     str(args.examples), "--ihub-results",
                                     str(reference_json)), repeat, (0,))
        counted = _counted_run(args.examples, tmp)
        replay, reference = _results(replay_json), _results(reference_json)

    rows = [
        ("empty pytest session (same plugins)", t_empty),
        ("replay (cassettes, no network)", t_replay),
        ("replay without the schemathesis module", t_replay_hand),
        ("reference, hand-written tests only", t_hand),
        (f"reference, full suite ({args.examples} schemathesis examples)", t_full),
    ]
    print()
    print(f"{'phase':<58} {'wall s':>8} {'x empty':>8}")
    for label, seconds in rows:
        print(f"{label:<58} {seconds:8.2f} {seconds / t_empty:8.2f}")
    print()
    print(f"replay / empty session ratio: {t_replay / t_empty:.2f}x "
          f"(replay adds {t_replay - t_empty:.2f}s)")
    print(f"replay:    {_counts(replay)}; {replay['requests']} requests from the cassettes, "
          f"no writes (replay repeats recorded answers)")
    print(f"reference: {_counts(reference)}; suite counter {reference['requests']} requests "
          f"(its own client; Schemathesis calls not counted there), "
          f"{len(reference['written'])} objects written")
    m = counted["methods"]
    print(f"counted against a served hub (its access log): {counted['requests']} requests "
          f"per full run ({', '.join(f'{k} {n}' for k, n in sorted(m.items()))}), "
          f"{counted['written']} writes (2xx POSTs); the suite listed "
          f"{counted['suite_written']} written objects and counted {counted['suite_requests']} "
          f"of its own requests; {counted['counts']}, {counted['seconds']:.2f}s")
    per_request = (t_hand - t_empty) / max(1, replay["requests"])
    print(f"reference hand-written run: {per_request * 1000:.1f} ms per request above the "
          f"empty session; keep-alive GET latency to the served hub "
          f"{counted['latency'] * 1000:.1f} ms")
    if counted["latency"] > SLOW_LOOPBACK_S:
        print("  (a loopback round trip near 40 ms is Nagle's algorithm meeting delayed ACKs: "
              "the hub's accepted sockets lack TCP_NODELAY)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
