"""`ihub-conformance run`: the conformance suite against a hub, with a verdict and reports.

The suite (conformance/ in a checkout, ihub_conformance/_data/conformance when
installed) runs under pytest in a child process with the plugin's ``--ihub-*``
options. Everything it prints passes through here with the keys replaced, and
every file it leaves in the report directory is scrubbed the same way before
the verdict is written:

    DIR/conformance.json   verdict, counts, every requirement's status (schema:
                           contracts/reports/conformance.schema.json)
    DIR/report.md          the requirement matrix, broken requirements first
    DIR/report.html        the same as one self-contained page to open in a browser
    DIR/junit.xml          JUnit XML, requirement ids as test properties
    DIR/allure-results/    Allure results (`nox -s report` renders them)

Exit codes: 0 conformant, 1 not conformant (the broken requirement ids are
printed), 2 usage/configuration error, 3 target unreachable (a live target is probed once up front,
hub/preflight.py, within a total deadline of seconds: a closed port or a server
that accepts and never answers is exit 3, a URL that is not an Inter-Hub or a
refused key exit 2).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from ihub_conformance._paths import checkout_root, suite_dir
from ihub_conformance.commands._common import (
    add_assumptions,
    add_contract,
    add_key_env,
    add_request_policy,
    check_request_policy,
)
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.contract.catalog import load_catalog
from ihub_conformance.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    ConformanceError,
    InputError,
)
from ihub_conformance.hub.policy import summarise_planned
from ihub_conformance.hub.preflight import preflight
from ihub_conformance.hub.target import REFERENCE, REPLAY, key_from_env, parse_target_spec
from ihub_conformance.secrets.scrub import REDACTED, Scrubber
from ihub_conformance.suite import recording
from ihub_conformance.suite.children import supervised
from ihub_conformance.suite.html import HTML_FILE, write_html
from ihub_conformance.suite.report import build_verdict, schema_violations, write_reports
from ihub_conformance.suite.safety import DEFAULT_SEED
from ihub_conformance.suite.session import STOP_PREFIX

HELP = "Run the conformance suite against a hub and write the verdict and reports."
UNBOUND_KEY_ENV = "IHUB_UNBOUND_KEY"
RESULTS_FILE = ".ihub-results.json"
MIN_SCRUB_LENGTH = 4
# pytest exit codes (pytest.ExitCode) the runner turns into its own.
_PYTEST_OK, _PYTEST_FAILED, _PYTEST_INTERRUPTED, _PYTEST_USAGE, _PYTEST_NO_TESTS = 0, 1, 2, 4, 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default=REFERENCE, metavar="reference|replay|URL",
                        help="the embedded reference hub (default), recorded cassettes, or a "
                        "live base URL")
    add_key_env(parser)
    parser.add_argument("--report-dir", default="reports", metavar="DIR",
                        help="where conformance.json, report.md, junit.xml and "
                        "allure-results/ go (default reports)")
    parser.add_argument("--allow-writes", action="store_true",
                        help="let the suite create widgets and events on a live target "
                        "(named with the run id; nothing is deleted)")
    add_contract(parser)
    parser.add_argument("--record", action="store_true",
                        help="(re)record the cassettes from the target (fixtures/cassettes/)")
    parser.add_argument("--cassette-dir", default=None, metavar="DIR",
                        help="cassettes to replay or record (default fixtures/cassettes/VERSION)")
    add_assumptions(parser)
    parser.add_argument("-k", dest="keyword", default=None, metavar="EXPR",
                        help="only tests matching this pytest -k expression")
    parser.add_argument("--examples", type=int, default=10, metavar="N",
                        help="Schemathesis examples per operation (default 10)")
    # Mutation testing: start the reference hub with a fault switched on.
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="reference target only: switch on a deliberate contract violation "
                        "(mutation testing; repeatable; --list-faults names them)")
    parser.add_argument("--list-faults", action="store_true",
                        help="list the reference hub's fault switches and exit")
    _add_safety_arguments(parser)


def _add_safety_arguments(parser: argparse.ArgumentParser) -> None:
    """Production safety: rate, budgets, dry run, and the seed that makes a run repeat."""
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N",
                        help=f"Schemathesis / Hypothesis seed (default {DEFAULT_SEED}; printed "
                        "with every run and in each Schemathesis failure's rerun command)")
    add_request_policy(parser)


def _validate(args: argparse.Namespace) -> None:
    """Every usage/configuration error, before anything starts (exit 2)."""
    parse_target_spec(args.target)
    if args.examples < 1:
        raise InputError("--examples", "must be at least 1")
    check_request_policy(args)
    if args.record and args.target == REPLAY:
        raise ConformanceError("--record needs a reference or live target, not replay")
    if args.record and not args.cassette_dir and checkout_root() is None:
        raise ConformanceError("--record from an installed package needs --cassette-dir DIR "
                               "(the shipped cassettes are read-only)")
    load_catalog(args.contract)  # an unknown contract version is refused here
    load_assumptions(args.contract, args.assumptions)
    if args.target == REPLAY:
        recording.read_meta(recording.cassette_dir(args.contract, args.cassette_dir),
                            args.contract)
    elif args.target != REFERENCE:
        key_from_env(args.key_env)
    if args.fault:
        if args.target != REFERENCE:
            raise ConformanceError("--fault applies to the reference target only")
        from ihub_conformance.reference.faults import check_faults

        check_faults(args.fault)


def _child_env(args: argparse.Namespace) -> tuple[dict[str, str], list[str]]:
    """The child's environment, and every credential in it (to scrub from output)."""
    env = dict(os.environ)
    if args.target == REFERENCE:
        # Choose the reference hub's keys here, so they are known to the scrubber.
        env.setdefault(args.key_env, secrets.token_urlsafe(32))
        env[args.key_env] = env[args.key_env] or secrets.token_urlsafe(32)
        env[UNBOUND_KEY_ENV] = env.get(UNBOUND_KEY_ENV) or secrets.token_urlsafe(32)
    known = [env.get(args.key_env), env.get(UNBOUND_KEY_ENV)]
    # Scrubbing a one-letter "key" would garble every word that holds the letter.
    return env, [s for s in known if s and len(s) >= MIN_SCRUB_LENGTH]


def _pytest_command(args: argparse.Namespace, report_dir: Path) -> list[str]:
    command = [
        sys.executable, "-m", "pytest", str(suite_dir()),
        "-p", "no:cacheprovider", "-q", "-rfE",
        f"--rootdir={suite_dir().parent}",
        f"--junitxml={report_dir / 'junit.xml'}", "-o", "junit_suite_name=ihub-conformance",
        f"--alluredir={report_dir / 'allure-results'}", "--clean-alluredir",
        "--ihub-target", args.target, "--ihub-key-env", args.key_env,
        "--ihub-contract", args.contract, "--ihub-schemathesis-examples", str(args.examples),
        "--ihub-results", str(report_dir / RESULTS_FILE),
    ]
    if args.allow_writes:
        command.append("--ihub-allow-writes")
    if args.record:
        command.append("--ihub-record")
    if args.cassette_dir:
        command += ["--ihub-cassette-dir", str(Path(args.cassette_dir).resolve())]
    if args.assumptions:
        command += ["--ihub-assumptions", str(Path(args.assumptions).resolve())]
    if args.keyword:
        command += ["-k", args.keyword]
    for fault in args.fault:
        command += ["--ihub-reference-fault", fault]
    return command + _safety_options(args)


def _safety_options(args: argparse.Namespace) -> list[str]:
    options = ["--ihub-seed", str(args.seed)]
    if args.rate_limit:
        options += ["--ihub-rate-limit", args.rate_limit]
    if args.max_requests is not None:
        options += ["--ihub-max-requests", str(args.max_requests)]
    if args.max_writes is not None:
        options += ["--ihub-max-writes", str(args.max_writes)]
    if args.dry_run:
        options.append("--ihub-dry-run")
    return options


def _run_pytest(command: list[str], env: dict[str, str], keys: list[str]) -> tuple[int, list[str]]:
    """Run the suite, streaming its output with the keys replaced; keep the tail."""
    tail: collections.deque[str] = collections.deque(maxlen=60)
    scrubber = Scrubber(dict.fromkeys(keys, REDACTED))
    with supervised(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    text=True, errors="replace") as child:
        assert child.stdout is not None
        for line in child.stdout:
            clean = scrubber.text(line)
            tail.append(clean.rstrip("\n"))
            sys.stdout.write(clean)
            sys.stdout.flush()
        child.wait()
    return child.returncode, list(tail)


def scrub_tree(report_dir: Path, keys: list[str]) -> None:
    """Replace the keys in every file pytest left in the report directory."""
    scrubber = Scrubber(dict.fromkeys(keys, REDACTED))
    if not scrubber:
        return
    for path in [report_dir / "junit.xml", *report_dir.glob("allure-results/*"),
                 report_dir / RESULTS_FILE]:
        if not path.is_file():
            continue
        data = path.read_bytes()
        clean = scrubber.data(data)
        if clean != data:
            path.write_bytes(clean)


def _preflight(args: argparse.Namespace) -> None:
    """The bounded preflight, and one line (stderr) when the hub's first answer contradicts
    the register: a hub that takes the key in another header is tested (its mismatches
    are reported as such), not refused."""
    from ihub_conformance.hub.calibration import register_contradiction
    from ihub_conformance.hub.preflight import KeyRefused

    key, assumptions = key_from_env(args.key_env), load_assumptions(args.contract,
                                                                     args.assumptions)
    found = register_contradiction(args.target, key, assumptions)
    try:
        preflight(args.target, key, assumptions, key_env=args.key_env)
    except KeyRefused as exc:
        if found is None or not found.key_works_elsewhere:
            raise KeyRefused(f"{exc} (if the hub takes its key another way, run "
                             "`ihub-conformance calibrate`)") from None
    if found is not None:
        print(f"ihub-conformance: {found.line}", file=sys.stderr)


def _usage_failure(code: int, tail: list[str]) -> ConformanceError:
    stopped = [line[line.index(STOP_PREFIX):] for line in tail if STOP_PREFIX in line]
    if stopped:  # the run's own policy stopped it (a budget): say which, nothing else
        return ConformanceError(stopped[-1].removeprefix("ihub-conformance: ").rstrip(" !"))
    errors = [line.removeprefix("ERROR: ") for line in tail if line.startswith("ERROR")]
    reason = errors[-1] if errors else (tail[-1] if tail else f"pytest exit {code}")
    if code == _PYTEST_NO_TESTS:
        reason = "no test selected (check -k)"
    return ConformanceError(f"the suite could not run: {reason}")


def _list_faults() -> int:
    from ihub_conformance.reference.faults import FAULTS

    for name in sorted(FAULTS):
        print(f"{name}: {FAULTS[name].description}")
    return EXIT_OK


def main(args: argparse.Namespace) -> int:
    if args.list_faults:
        return _list_faults()
    _validate(args)
    if args.target not in (REFERENCE, REPLAY):
        # Before any test: one bounded probe (exit 3 unreachable, 2 not an Inter-Hub / key refused)
        _preflight(args)
    report_dir = Path(args.report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(report_dir), f"cannot create: {exc.strerror or exc}",
                         field="--report-dir") from None
    results_path = report_dir / RESULTS_FILE
    # The last run's verdict must not pass for this run's if this one is interrupted.
    for stale in (results_path, report_dir / "conformance.json", report_dir / "report.md"):
        stale.unlink(missing_ok=True)
    env, keys = _child_env(args)
    try:
        code, tail = _run_pytest(_pytest_command(args, report_dir), env, keys)
    finally:  # also when interrupted: whatever pytest wrote keeps no key
        scrub_tree(report_dir, keys)
    if code not in (_PYTEST_OK, _PYTEST_FAILED) or not results_path.is_file():
        raise _usage_failure(code, tail)
    results = json.loads(results_path.read_text(encoding="utf-8"))
    verdict = build_verdict(results, load_catalog(args.contract))
    problems = schema_violations(verdict.document)
    if problems:  # a bug here, not the hub's: say so plainly
        raise ConformanceError(f"conformance.json breaks its schema: {problems[0]}")
    json_path, md_path = write_reports(verdict, report_dir)
    write_html(verdict.document, report_dir)  # a page to open, no extra tool needed
    results_path.unlink(missing_ok=True)
    _summary(verdict, json_path, md_path, report_dir)
    _policy_summary(results)
    return EXIT_OK if verdict.passed else EXIT_FINDINGS


def _policy_summary(results: dict) -> None:
    """What the run's request policy did: seed, requests, retries, dry-run writes."""
    print(f"  seed: {results.get('seed')} (rerun with --seed {results.get('seed')}); "
          f"requests: {results.get('requests', 0)} (Schemathesis's included), "
          f"retries after 429/503: {results.get('retries', 0)}")
    planned = results.get("planned_writes") or []
    if planned:
        print(f"  dry run: {len(planned)} writes not sent:")
        for line in summarise_planned(planned):
            print(f"    {line}")


def _summary(verdict, json_path: Path, md_path: Path, report_dir: Path) -> None:
    doc = verdict.document
    counts = doc["counts"]
    print()
    print(f"ihub-conformance: contract {doc['contract']}, {doc['target']['mode']} target"
          + (f" {doc['target']['url']}" if doc["target"]["url"] else "")
          + f", run {doc['runId']}")
    print(f"  tests: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['error']} errors, {counts['mismatch']} assumption mismatches, "
          f"{counts['unverifiable']} unverifiable, {counts['skipped']} skipped")
    if verdict.broken:
        print(f"  broken requirements: {', '.join(verdict.broken)}")
    for found in verdict.mismatches:
        print(f"  assumption mismatch {found['assumption']}: expected {found['expected']}, "
              f"observed {found['observed']} ({len(found['tests'])} tests)")
    if verdict.mismatches:
        print(f"  {doc['calibrate']}")
    if verdict.unverifiable:
        print(f"  unverifiable on this hub: {', '.join(verdict.unverifiable)}")
    if verdict.unproven:
        print(f"  MUST requirements not proven: {', '.join(verdict.unproven)}")
    if doc["written"] and doc["target"]["mode"] == "reference":
        print(f"  objects written: {len(doc['written'])} on the reference hub (discarded "
              "with it; listed in conformance.json)")
    elif doc["written"]:
        print(f"  objects written: {len(doc['written'])} (listed in {md_path.name}; "
              "none deleted)")
    word = {"pass": "PASS (conformant)", "fail": "FAIL (not conformant)",
            "assumption_mismatch": "ASSUMPTION MISMATCH (not proven; calibrate)"}[doc["verdict"]]
    print(f"  verdict: {word}")
    print(f"  reports: {json_path}, {md_path}, {report_dir / HTML_FILE}, "
          f"{report_dir / 'junit.xml'}, {report_dir / 'allure-results'}")
