"""Benchmark `validate events`: throughput against baselines measured in this run, and memory.

Generates 200,000 realistic events (~5% invalid: secrets, early names, missing fields,
duplicates, malformed lines) into a temporary file, then prints:

* events/s of the library path (`check_stream`, one process), of the same check with
  `--jobs` worker processes (`stream_parallel.check_file`) and of the CLI end to end;
* the ratio to orjson parse-only over the same file (target: within 5x per core). Per core
  means CPU time: the CPU seconds of every process a run uses (the parent's plus its
  workers') against parse-only's CPU seconds; a wall-clock ratio of several processes
  would credit the extra cores. The parse-only loop is the plainest one: iterate the
  file, `orjson.loads` each line, `try/except` for malformed lines. The verdict line uses
  the one-process CPU-time ratio (the library's cost per core) and prints the N-process
  run's all-process CPU-time ratio beside it (the parallel overhead); wall-clock times are
  printed for information only;
* what each stream component buys: the library's CPU time with the component taken out,
  best of `--repeat` rounds that alternate the variants (so a burst of load from other
  processes hits them alike), kept at >= 10%;
* the ratio to check-jsonschema on the same events (target: >= 100x faster).
  check-jsonschema validates one instance per file, so it runs once on a sample of
  instance files of two sizes; per-instance cost = the difference / the extra files, and
  the 200,000-event time is extrapolated as startup + 200,000 x per-instance cost;
* peak RSS of fresh subprocesses checking 20,000 vs 200,000 events (target: within 10%),
  for one process and for the parallel run (its parent and its largest worker).

Usage: python benchmarks/bench_events.py [--events N] [--sample N]
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from ihub_conformance.stream.parallel import auto_jobs

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contracts" / "v1"
PARSE_TARGET = 5  # at most this many times orjson parse-only, per core (CPU time)
CJ_TARGET = 100  # at least this many times faster than check-jsonschema


def _generator():
    source = ROOT / "fixtures" / "events" / "generate.py"
    spec = importlib.util.spec_from_file_location("_events_gen", source)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def write_stream(path: Path, count: int, invalid_share: float = 0.05, seed: int = 1) -> int:
    """Write `count` lines; return how many were made invalid on purpose."""
    gen = _generator()
    rng = random.Random(seed)
    kinds = list(gen.SECRET_TEMPLATES)
    recent: list[bytes] = []
    bad = 0
    with open(path, "wb") as fh:
        for event in gen.valid_events(count, seed=seed):
            line = orjson.dumps(event)
            if rng.random() < invalid_share:
                bad += 1
                roll = rng.random()
                if roll < 0.4:
                    key, value = gen.fake_secret(rng.choice(kinds), rng)
                    line = orjson.dumps(gen.insert_at_random_depth(event, key, value, rng))
                elif roll < 0.6:
                    broken = copy.deepcopy(event)
                    broken["eventType"] = rng.choice(["ops-service-observed", "ops-inventory-drift",
                                                      "ops-access-path-checked"])
                    line = orjson.dumps(broken)
                elif roll < 0.8:
                    broken = copy.deepcopy(event)
                    del broken["metadata"][rng.choice(["context_key", "attributes"])]
                    line = orjson.dumps(broken)
                elif roll < 0.9 and recent:
                    line = rng.choice(recent)  # a duplicate idempotency key
                else:
                    line = line[: len(line) // 2]  # malformed
            elif len(recent) < 64:
                recent.append(line)
            fh.write(line + b"\n")
    return bad


def _timed(fn, clock=time.perf_counter) -> float:
    start = clock()
    fn()
    return clock() - start


def parse_only(path: Path) -> None:
    # A plain try/except: a `with contextlib.suppress(...)` per line would add ~0.35 µs
    # of context-manager overhead to the baseline (~30%) and flatter the ratio.
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    with open(path, "rb") as fh:
        for line in fh:
            try:  # noqa: SIM105 (suppress() per line costs what we measure against)
                loads(line)
            except decode_error:
                pass


def library_path(path: Path, limit: int | None = None, tier: bool = True) -> int:
    from itertools import islice

    from ihub_conformance.stream.pipeline import check_stream

    with open(path, "rb") as fh:
        lines = islice(fh, limit) if limit else fh
        return sum(1 for _ in check_stream(lines, tier=tier))


def tier_share(path: Path) -> tuple[str, float]:
    """(guard scanner, share of lines) the proof-of-validity tier settles without the engine."""
    from ihub_conformance.stream.fastpath import fast_path

    fast = fast_path("v1")
    proven = total = 0
    with open(path, "rb") as fh:
        while block := [line for _, line in zip(range(64), fh, strict=False)]:
            skip = fast.flagged(block)
            proven += sum(1 for i, line in enumerate(block)
                          if i not in skip and fast.key_of(line) is not None)
            total += len(block)
    return fast.scanner, proven / total


def components(path: Path, repeat: int) -> dict[str, float]:
    """CPU seconds of the library path with each stream component taken out in turn.

    "tier": the whole proof-of-validity tier (msgspec decode + block guard scan) off, every
    line to the engine; "hyperscan": the block scan through Rust regex per line instead.
    Each round runs every variant once, in turn; each keeps its best round: alternating
    rounds share any burst of load alike, which one variant's run after another's does not.
    """
    from ihub_conformance.stream import fastpath

    built = fastpath.fast_path
    variants = {"all": (True, None), "tier": (False, None), "hyperscan": (True, "rust-regex")}
    out = dict.fromkeys(variants, float("inf"))
    try:
        for _ in range(repeat):
            for name, (tier, scanner) in variants.items():
                # The pipeline builds its tier through fastpath.fast_path: pick the scanner.
                fastpath.fast_path = lambda version, s=scanner: built(version, s)
                library_path(path, 500, tier)  # build this variant's tier outside the timing
                out[name] = min(out[name], _timed(lambda t=tier: library_path(path, None, t),
                                                  time.process_time))
    finally:
        fastpath.fast_path = built
    return out


def guard_scan_seconds(path: Path, repeat: int) -> dict[str, float]:
    """CPU seconds of the block guard alone over the file: Hyperscan vs Rust regex per line
    (the component measured in isolation, so the library's noise does not blur it)."""
    from ihub_conformance.stream import fastpath

    with open(path, "rb") as fh:
        blocks = []
        while block := [line for _, line in zip(range(64), fh, strict=False)]:
            blocks.append(block)
    scans = {name: fastpath.fast_path("v1", name).flagged for name in fastpath.SCANNERS}
    out = dict.fromkeys(scans, float("inf"))
    for _ in range(repeat):
        for name, flagged in scans.items():
            start = time.process_time()
            for block in blocks:
                flagged(block)
            out[name] = min(out[name], time.process_time() - start)
    return out


def parallel_path(path: Path, jobs: int) -> int:
    from ihub_conformance.stream.parallel import check_file

    return sum(1 for _ in check_file(str(path), jobs=jobs))


def _cpu_with_children() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _best(fn, repeat: int, clock=time.perf_counter) -> float:
    return min(_timed(fn, clock) for _ in range(repeat))


def check_jsonschema_rate(path: Path, small: int, large: int, workdir: Path) -> tuple[float, float]:
    """(startup seconds, seconds per instance) of check-jsonschema on instance files."""
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    with open(path, "rb") as fh:
        events = [line for _, line in zip(range(large), fh, strict=False)]
    files = []
    for i, line in enumerate(events):
        target = workdir / f"event-{i:05d}.json"
        target.write_bytes(line)
        files.append(str(target))
    schema = CONTRACT / "interaction-event.schema.json"
    # The schemas' $ids live under the .invalid TLD; --base-uri makes their relative
    # $refs resolve to the files next to the schema, offline. The contract's patterns use
    # inline flags such as (?i), which ECMA-262 lacks: use the Python regex dialect.
    base = ["--schemafile", str(schema), "--base-uri", schema.as_uri(),
            "--regex-variant", "python", "--output-format", "text"]

    def run(n: int) -> float:
        start = time.perf_counter()
        done = subprocess.run([exe, *base, *files[:n]], capture_output=True, text=True,
                              check=False)
        took = time.perf_counter() - start
        if "schemafile was not valid" in done.stdout + done.stderr or done.returncode > 1:
            raise SystemExit(f"check-jsonschema failed: {(done.stdout + done.stderr)[-400:]}")
        return took

    t_small, t_large = run(small), run(large)
    per = max((t_large - t_small) / (large - small), 1e-9)
    return max(t_small - small * per, 0.0), per


def peak_rss_mb(path: Path, limit: int) -> tuple[float, float]:
    """(peak, final) RSS in MB of a fresh interpreter checking the first `limit` lines."""
    out = subprocess.run([sys.executable, __file__, "--rss-child", str(path), str(limit)],
                         capture_output=True, text=True, check=True)
    peak, final = out.stdout.strip().splitlines()[-1].split()
    return float(peak), float(final)


def parallel_peak_rss_mb(path: Path, jobs: int) -> tuple[float, float]:
    """(parent, largest worker) peak RSS in MB of a fresh `--jobs` check of `path`."""
    out = subprocess.run([sys.executable, __file__, "--rss-parallel-child", str(path),
                          str(jobs)], capture_output=True, text=True, check=True)
    parent, worker = out.stdout.strip().splitlines()[-1].split()
    return float(parent), float(worker)


def _head(path: Path, lines: int, target: Path) -> Path:
    with open(path, "rb") as src, open(target, "wb") as dst:
        for _, line in zip(range(lines), src, strict=False):
            dst.write(line)
    return target


def _verdict(ok: bool) -> str:
    return "target met" if ok else "target NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=1000,
                        help="instance files for check-jsonschema (also runs a quarter of it)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2,
                        help="worker processes for the parallel run (default 2)")
    parser.add_argument("--rss-child", nargs=2, metavar=("FILE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--rss-parallel-child", nargs=2, metavar=("FILE", "JOBS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_parallel_child:
        parallel_path(Path(args.rss_parallel_child[0]), int(args.rss_parallel_child[1]))
        mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(mine, workers)
        return 0
    if args.rss_child:
        library_path(Path(args.rss_child[0]), int(args.rss_child[1]))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        print(peak, pages * os.sysconf("SC_PAGE_SIZE") / 2**20)
        return 0

    n = args.events
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        work = Path(tmp)
        stream = work / "events.jsonl"
        bad = write_stream(stream, n)
        size = stream.stat().st_size
        print(f"stream: {n} events, {bad} made invalid ({bad / n:.1%}), {size / 1e6:.1f} MB")

        library_path(stream, 2000)  # warm: compile validators, import modules
        jobs = args.jobs
        findings = library_path(stream)
        findings_par = parallel_path(stream, jobs)
        # Rounds interleave the three runs, so a burst of load from other processes hits
        # them alike; each keeps its best wall and CPU time (CPU too: on a shared machine
        # wall time also counts other processes). Parallel CPU adds the workers' CPU.
        runs = {"parse": lambda: parse_only(stream), "lib": lambda: library_path(stream),
                "par": lambda: parallel_path(stream, jobs)}
        wall = dict.fromkeys(runs, float("inf"))
        cpu = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeat):
            for name, fn in runs.items():
                w0, c0 = time.perf_counter(), _cpu_with_children()
                fn()
                wall[name] = min(wall[name], time.perf_counter() - w0)
                cpu[name] = min(cpu[name], _cpu_with_children() - c0)
        t_parse, t_lib, t_par = wall["parse"], wall["lib"], wall["par"]
        c_parse, c_lib, c_par = cpu["parse"], cpu["lib"], cpu["par"]
        cli = [sys.executable, "-m", "ihub_conformance.cli", "validate", "events", str(stream),
               "--format", "json"]
        with open(os.devnull, "wb") as sink:
            t_cli = _best(lambda: subprocess.run(cli, stdout=sink, check=False), 1)
        if findings_par != findings:
            raise SystemExit(f"parallel run reported {findings_par} findings, one process "
                             f"{findings}")
        print(f"findings reported: {findings} (the same with {jobs} processes)")
        scanner, share = tier_share(stream)
        print(f"proof-of-validity tier: {share:.1%} of lines proven valid without the engine "
              f"(guard scanned with {scanner})")
        print(f"orjson parse-only : {n / t_parse:12,.0f} events/s  ({t_parse:.2f} s)")
        print(f"library, 1 process: {n / t_lib:12,.0f} events/s  ({t_lib:.2f} s)")
        print(f"library, {jobs} procs  : {n / t_par:12,.0f} events/s  ({t_par:.2f} s, "
              f"{jobs} worker processes)")
        cli_jobs = auto_jobs(size)
        print(f"CLI end to end    : {n / t_cli:12,.0f} events/s  ({t_cli:.2f} s, --jobs auto = "
              f"{cli_jobs} process{'es' if cli_jobs > 1 else ''} for this file, with "
              "interpreter start and JSON output)")
        ratio = {"wall_1": t_lib / t_parse, "cpu_1": c_lib / c_parse,
                 f"wall_{jobs}": t_par / t_parse, f"cpu_{jobs}": c_par / c_parse}
        print(f"library vs parse-only (target: within {PARSE_TARGET}x per core = CPU time "
              "of all processes against parse-only's CPU time):")
        print(f"  1 process : CPU time {ratio['cpu_1']:.2f}x (wall {ratio['wall_1']:.2f}x, "
              "for information)")
        print(f"  {jobs} processes: CPU time, all processes {ratio[f'cpu_{jobs}']:.2f}x (wall "
              f"{ratio[f'wall_{jobs}']:.2f}x, for information; the difference to 1 process "
              "is the parallel run's overhead)")
        used, value = "1-process CPU-time ratio", ratio["cpu_1"]
        print(f"  verdict uses the {used}: {value:.2f}x -> {_verdict(value <= PARSE_TARGET)}; "
              f"with {jobs} processes {ratio[f'cpu_{jobs}']:.2f}x -> "
              f"{_verdict(ratio[f'cpu_{jobs}'] <= PARSE_TARGET)} (`validate events --jobs "
              f"auto`, the default, uses {cli_jobs} process{'es' if cli_jobs > 1 else ''} "
              "for this file on this machine)")
        ratio_parse = t_lib / t_parse
        # Where the time goes: the same number of events with none made invalid.
        clean = work / "valid.jsonl"
        write_stream(clean, n, invalid_share=0.0)
        c_parse_valid = _best(lambda: parse_only(clean), args.repeat, time.process_time)
        c_lib_valid = _best(lambda: library_path(clean), args.repeat, time.process_time)
        print(f"  valid events only: CPU time {c_lib_valid / c_parse_valid:.2f}x parse-only "
              f"({n / c_lib_valid:,.0f} events/s); each invalid line costs "
              f"~{(c_lib - c_lib_valid) / max(bad, 1) * 1e6:.0f} µs more (findings, pointers, "
              "secret detectors)")

        cost = components(stream, args.repeat)
        for name, label in (("tier", "proof-of-validity tier (msgspec + guard scan)"),
                            ("hyperscan", "Hyperscan block scan (vs Rust regex per line)")):
            if name == "hyperscan" and scanner != "hyperscan":
                print(f"component {label}: not installed here")
                continue
            gain = cost[name] / cost["all"] - 1
            print(f"component {label}: without it {gain:+.0%} CPU time (best of "
                  f"{args.repeat} alternating rounds) -> "
                  f"{'keep' if gain >= 0.10 else 'does NOT pay (< 10%)'}")
        if scanner == "hyperscan":
            scan = guard_scan_seconds(stream, args.repeat)
            saved = (scan["rust-regex"] - scan["hyperscan"]) / cost["all"]
            print(f"  the guard scan alone: Hyperscan {scan['hyperscan']:.2f} s, Rust regex per "
                  f"line {scan['rust-regex']:.2f} s CPU: Hyperscan saves {saved:.0%} of the "
                  "library's CPU time")

        small = max(args.sample // 4, 10)
        startup, per = check_jsonschema_rate(stream, small, args.sample, work)
        t_cj = startup + per * n
        print(f"check-jsonschema  : {1 / per:12,.0f} events/s per instance "
              f"(startup {startup:.2f} s; measured on {small} and {args.sample} instance "
              f"files; {n} events extrapolated to {t_cj:.0f} s)")
        speedup_lib = t_cj / t_lib
        speedup_cli = t_cj / t_cli
        print(f"library vs check-jsonschema: {speedup_lib:.0f}x faster -> "
              f"{_verdict(speedup_lib >= CJ_TARGET)} (>= {CJ_TARGET}x)")
        print(f"CLI vs check-jsonschema    : {speedup_cli:.0f}x faster -> "
              f"{_verdict(speedup_cli >= CJ_TARGET)} (>= {CJ_TARGET}x)")

        small_n = n // 10
        (rss_small, end_small), (rss_large, end_large) = (peak_rss_mb(stream, small_n),
                                                          peak_rss_mb(stream, n))
        growth = rss_large / rss_small - 1
        print(f"peak RSS: {rss_small:.1f} MB at {small_n} events, {rss_large:.1f} MB at {n} "
              f"events: {growth:+.1%} -> {_verdict(growth <= 0.10)} (flat within 10%); "
              f"RSS at the end {end_small:.1f} vs {end_large:.1f} MB "
              f"({end_large / end_small - 1:+.1%})")
        (par_small, wrk_small), (par_large, wrk_large) = (
            parallel_peak_rss_mb(_head(stream, small_n, work / "head.jsonl"), jobs),
            parallel_peak_rss_mb(stream, jobs))
        # A file too small to split forks no worker (its RSS reads 0): the parent alone.
        growth_par = max(par_large / par_small,
                         wrk_large / wrk_small if wrk_small else 1.0) - 1
        print(f"peak RSS with {jobs} processes: parent {par_small:.1f} -> {par_large:.1f} MB, "
              f"largest worker {wrk_small:.1f} -> {wrk_large:.1f} MB ({small_n} -> {n} events): "
              f"{growth_par:+.1%} -> {_verdict(growth_par <= 0.10)} (flat within 10%)")
        print(json.dumps({"events": n, "parse_eps": n / t_parse, "library_eps": n / t_lib,
                          "parallel_eps": n / t_par, "jobs": jobs,
                          "cli_eps": n / t_cli, "ratio_parse": ratio_parse,
                          "ratio_parse_cpu": c_lib / c_parse,
                          "ratio_parse_parallel": t_par / t_parse,
                          "ratio_parse_parallel_cpu": c_par / c_parse,
                          "ratio_verdict_uses": used,
                          "ratio_parse_cpu_valid_only": c_lib_valid / c_parse_valid,
                          "speedup_check_jsonschema": speedup_lib, "rss_growth": growth,
                          "rss_growth_parallel": growth_par}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
