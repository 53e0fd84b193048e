"""Benchmark the reference Inter-Hub: accepted events/s and latency under loopback load.

The hub runs as its own process (`ihub-conformance serve --port 0 --quiet`, a fresh
in-memory database); the load comes from separate worker processes, each sending a
fixed number of requests over one keep-alive connection. Three phases, same workers:

* floor  - GET of an unknown route (router miss + JSON error): the HTTP/ASGI floor;
* list   - GET /api/v2/interaction-events?pageSize=50 (auth, rate limit, one page read);
* events - POST /api/v2/interaction-events with a realistic activity-core payload
           (auth, rate limit, JSON parse, validation, registry + manifest checks, insert).

The phases run interleaved in three rounds (throughput = the median round), so load
from other processes on the machine affects the floor and the hub alike. Prints
requests/s and p50/p99 latency per phase, accepted events/s, the ratio of event
throughput to the floor measured in this run, and checks that every accepted event was
stored exactly once (totalCount == accepted).

Usage: python benchmarks/bench_hub.py [--workers N] [--events N-per-worker]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
WIDGET = "00000000-0000-4000-8000-000000000105"
START_TIMEOUT = 30.0
ROUNDS = 3


def _payload(worker: int, n: int) -> dict[str, object]:
    run = f"bench-{worker}"
    return {
        "widgetId": WIDGET, "eventType": "ops-endpoint-verified",
        "viewContext": "railiance/inter-hub",
        "metadata": {
            "activity_core_run_id": run, "context_key": f"railiance/endpoint-{n}",
            "idempotency_key": f"{run}:railiance/endpoint-{n}:ops-endpoint-verified",
            "attributes": {"observed_at": "2026-06-27T08:00:00Z", "status": 200,
                           "latency_ms": 42},
        },
    }


def _worker(args: tuple[str, str, str, int, int]) -> tuple[list[float], int, float]:
    """Send `count` requests of one kind; return latencies (s), 2xx count, wall time."""
    base_url, key, kind, count, worker = args
    latencies: list[float] = []
    ok = 0
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as http:
        started = time.perf_counter()
        for n in range(count):
            t0 = time.perf_counter()
            if kind == "events":
                response = http.post("/api/v2/interaction-events", json=_payload(worker, n))
            elif kind == "list":
                response = http.get("/api/v2/interaction-events", params={"pageSize": 50})
            else:
                response = http.get("/api/v2/bench-floor")
            latencies.append(time.perf_counter() - t0)
            ok += response.is_success
        wall = time.perf_counter() - started
    return latencies, ok, wall


def _start_hub(key: str) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, OPS_HUB_KEY=key, IHUB_UNBOUND_KEY=secrets.token_urlsafe(24))
    process = subprocess.Popen(
        [sys.executable, "-m", "ihub_conformance.cli", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout],  # type: ignore[union-attr]
                     daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if "listening on " in line:
            return process, line.split("listening on ", 1)[1].strip()
    process.kill()
    raise SystemExit("bench_hub: the hub did not start")


def _phase(pool: multiprocessing.pool.Pool, url: str, key: str, kind: str, workers: int,
           count: int, offset: int = 0) -> dict[str, Any]:
    started = time.perf_counter()
    results = pool.map(_worker, [(url, key, kind, count, offset + w) for w in range(workers)])
    wall = time.perf_counter() - started
    latencies = [x for r in results for x in r[0]]
    ok = sum(r[1] for r in results)
    return {"latencies": latencies, "ok": ok, "wall": wall}


def _summary(rounds: list[dict[str, Any]]) -> dict[str, float]:
    latencies = sorted(x for r in rounds for x in r["latencies"])
    rates = [len(r["latencies"]) / r["wall"] for r in rounds]
    return {
        "requests": len(latencies), "ok": sum(r["ok"] for r in rounds),
        "per_s": statistics.median(rates),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--events", type=int, default=2000, help="requests per worker")
    args = parser.parse_args()
    key = secrets.token_urlsafe(24)
    process, url = _start_hub(key)
    per_round = max(1, args.events // ROUNDS)
    floor_rounds, event_rounds, list_rounds = [], [], []
    try:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.workers) as pool:
            _phase(pool, url, key, "floor", args.workers, 200)  # warm-up, discarded
            # Interleaved rounds, so background load drifts over both alike.
            for r in range(ROUNDS):
                floor_rounds.append(_phase(pool, url, key, "floor", args.workers, per_round))
                event_rounds.append(_phase(pool, url, key, "events", args.workers, per_round,
                                           offset=r * args.workers))
                list_rounds.append(_phase(pool, url, key, "list", args.workers,
                                          max(1, per_round // 4)))
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            stored = http.get("/api/v2/interaction-events", params={"pageSize": 1}).json()[
                "pagination"]["totalCount"]
    finally:
        process.terminate()
        process.wait(timeout=15)
    floor, events, listing = (_summary(x) for x in (floor_rounds, event_rounds, list_rounds))
    events["ok_per_s"] = events["per_s"] * events["ok"] / events["requests"]
    print(f"reference hub, {args.workers} worker processes, loopback, in-memory SQLite")
    for name, row in (("floor (404 route)", floor), ("GET events page", listing),
                      ("POST event", events)):
        print(f"  {name:18} {row['requests']:6.0f} req  {row['per_s']:8.0f} req/s  "
              f"p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms")
    print(f"accepted events/s: {events['ok_per_s']:.0f} "
          f"({events['ok']:.0f}/{events['requests']:.0f} accepted, {stored} stored)")
    print(f"ratio event throughput / HTTP floor: {events['per_s'] / floor['per_s']:.2f} "
          f"(p50 latency x{events['p50_ms'] / floor['p50_ms']:.2f})")
    if stored != events["ok"] or events["ok"] != events["requests"]:
        print("bench_hub: accepted and stored counts differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
