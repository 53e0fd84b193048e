"""pytest hooks of the conformance suite: options, requirement traceability, results.

Loaded through plugin.py in every pytest session; everything here is inert until
a test carries a ``requirement`` marker or the suite's fixtures are used.

- Options ``--ihub-*`` choose the target and the run's policy.
- Each ``@pytest.mark.requirement("EVT-03", ...)`` id is checked against the
  catalog (an unknown id stops the session as a usage error) and becomes JUnit
  properties and Allure labels (epic/feature = area, story = id, severity from
  MUST/SHOULD, description = the source quote): centrally, not per test.
- Outcomes per test (with requirement ids, redacted failure messages) and the
  objects the run wrote are written to ``--ihub-results FILE`` for the runner.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ihub_conformance.contract.catalog import MARKER
from ihub_conformance.hub import network
from ihub_conformance.secrets.scrub import scrub
from ihub_conformance.suite import attribution, evidence, safety
from ihub_conformance.suite.evidence import test_id

AREA_TITLES = {
    "WID": "Widgets endpoint (/api/v2/widgets)",
    "EVT": "Interaction-events endpoint (/api/v2/interaction-events)",
    "ACS": "activity-core contract and sink",
    "FBK": "State Hub fallback",
    "VOC": "Live ops-hub vocabulary",
    "GATE": "Production gates",
    "SEC": "Key handling",
}
_MESSAGE_LIMIT = 6000


@dataclass
class SuiteState:
    """Per-session state shared by the hooks and the suite's fixtures."""

    target: str
    mode: str  # reference | live | replay | record
    key_env: str
    assumptions_file: str | None
    allow_writes: bool
    contract: str
    cassette_dir: str | None
    examples: int
    faults: frozenset[str]
    results_path: str | None
    seed: int = safety.DEFAULT_SEED
    started: float = field(default_factory=time.time)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    session: Any = None  # the HubSession once the target is open
    catalog: Any = None
    register_ids: frozenset[str] | None = None

    def redact(self, text: str) -> str:
        """`text` with every spelling of every key replaced (secrets.scrub)."""
        return scrub(text, self.secrets)


STATE = pytest.StashKey[SuiteState]()
# The configured session's state, for test modules that need an option at import
# time (schemathesis parametrizes at collection, before any fixture exists).
_ACTIVE: list[SuiteState] = []


def state(config: pytest.Config) -> SuiteState:
    return config.stash[STATE]


def active_state() -> SuiteState | None:
    """The state of the pytest session being configured or run, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ihub-conformance", "Inter-Hub conformance suite")
    group.addoption("--ihub-target", default="reference", metavar="reference|replay|URL",
                    help="hub under test: the embedded reference hub (default), recorded "
                    "cassettes (replay), or a live base URL")
    group.addoption("--ihub-key-env", default="OPS_HUB_KEY", metavar="NAME",
                    help="environment variable holding the live target's key (default "
                    "OPS_HUB_KEY); keys are never command-line values")
    group.addoption("--ihub-assumptions", default=None, metavar="FILE",
                    help="assumption override file (YAML/JSON subset of `values`)")
    group.addoption("--ihub-allow-writes", action="store_true", default=False,
                    help="allow creating widgets and events (implied for the reference hub)")
    group.addoption("--ihub-record", action="store_true", default=False,
                    help="(re)record cassettes from the target into the cassette directory")
    group.addoption("--ihub-contract", default="v1", metavar="VERSION",
                    help="contract version to check (default v1)")
    group.addoption("--ihub-cassette-dir", default=None, metavar="DIR",
                    help="cassette directory (default fixtures/cassettes/<contract>)")
    group.addoption("--ihub-schemathesis-examples", type=int, default=10, metavar="N",
                    help="examples per operation and data mode for the schemathesis tests")
    group.addoption("--ihub-results", default=None, metavar="FILE",
                    help="write per-test outcomes with requirement ids as JSON (for the runner)")
    safety.add_options(group)
    # For mutation testing the suite: start the reference hub with a fault switched on.
    group.addoption("--ihub-reference-fault", action="append", default=[],
                    help=argparse.SUPPRESS)
    group.addoption("--ihub-only", action="append", default=[], metavar="ID",
                    help="run only the tests verifying this requirement id or checking this "
                    "assumption id (repeatable)")


def _mode(target: str, record: bool) -> str:
    if target == "replay":
        if record:
            raise pytest.UsageError("--ihub-record cannot record from --ihub-target replay")
        return "replay"
    if record:
        return "record"
    return "reference" if target == "reference" else "live"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*ids): requirement ids from the catalog that this test verifies"
    )
    config.addinivalue_line(
        "markers", f"{attribution.MARKER}(*ids): assumption register ids (ASM-nn) whose "
        "choices this test relies on"
    )
    target = config.getoption("--ihub-target")
    mode = _mode(target, config.getoption("--ihub-record"))
    examples = config.getoption("--ihub-schemathesis-examples")
    if examples < 1:
        raise pytest.UsageError("--ihub-schemathesis-examples must be at least 1")
    config.stash[STATE] = suite = SuiteState(
        target=target,
        mode=mode,
        key_env=config.getoption("--ihub-key-env"),
        assumptions_file=config.getoption("--ihub-assumptions"),
        allow_writes=bool(config.getoption("--ihub-allow-writes")) or target == "reference",
        contract=config.getoption("--ihub-contract"),
        cassette_dir=config.getoption("--ihub-cassette-dir"),
        examples=examples,
        faults=frozenset(config.getoption("--ihub-reference-fault")),
        results_path=config.getoption("--ihub-results"),
        seed=config.getoption("--ihub-seed"),
    )
    _ACTIVE.append(suite)
    config.stash[evidence.SUITE] = suite
    config.pluginmanager.register(evidence, "ihub-conformance-evidence")
    if mode == "replay":
        _check_cassettes(suite)
        network.block()
    elif target != "reference":
        _check_live(suite)


def _check_live(suite: SuiteState) -> None:
    """A live target needs a well-formed URL and its key in the environment, up front."""
    from ihub_conformance.errors import ConformanceError
    from ihub_conformance.hub.target import key_from_env, parse_target_spec

    try:
        parse_target_spec(suite.target)
        key_from_env(suite.key_env)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None


def _check_cassettes(suite: SuiteState) -> None:
    """Replay refuses cassettes of another contract version before anything runs."""
    from ihub_conformance.errors import ConformanceError
    from ihub_conformance.suite import recording

    try:
        recording.read_meta(recording.cassette_dir(suite.contract, suite.cassette_dir),
                            suite.contract)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    suite = config.stash.get(STATE, None)
    if suite is None:
        return
    if suite in _ACTIVE:
        _ACTIVE.remove(suite)
    if suite.mode == "replay":
        network.unblock()


# -- requirement markers ------------------------------------------------------------------


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        for rid in mark.args:
            if str(rid) not in ids:
                ids.append(str(rid))
    return ids


def _catalog(config: pytest.Config) -> Any:
    suite = state(config)
    if suite.catalog is None:
        from ihub_conformance.contract.catalog import load_catalog
        from ihub_conformance.errors import ConformanceError

        try:
            suite.catalog = load_catalog(suite.contract)
        except ConformanceError as exc:
            raise pytest.UsageError(f"requirement catalog: {exc}") from None
    return suite.catalog


def _register_ids(config: pytest.Config) -> frozenset[str]:
    suite = state(config)
    if suite.register_ids is None:
        from ihub_conformance.contract.assumptions import load_assumptions
        from ihub_conformance.errors import ConformanceError

        try:
            entries = load_assumptions(suite.contract, suite.assumptions_file).entries
        except ConformanceError as exc:
            raise pytest.UsageError(f"assumption register: {exc}") from None
        suite.register_ids = frozenset(str(entry["id"]) for entry in entries)
    return suite.register_ids


def _check_assumption_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every ``assumption`` marker id is an entry of the register, like requirement ids."""
    marked = [(item, attribution.assumption_ids(item)) for item in items]
    if not any(ids for _, ids in marked):
        return
    known = _register_ids(config)
    unknown = [f"{item.nodeid}: {asm}" for item, ids in marked for asm in ids
               if asm not in known]
    if unknown:
        raise pytest.UsageError(
            f"unknown assumption id in a @pytest.mark.{attribution.MARKER} marker (not in "
            "the assumption register): " + "; ".join(unknown[:10])
        )
    for item, ids in marked:
        for asm in ids:
            item.user_properties.append(("assumption", asm))
            _label(item, asm, "tag")


def _label(item: pytest.Item, value: str, label_type: str) -> None:
    item.add_marker(pytest.mark.allure_label(value, label_type=label_type))


def _trace(item: pytest.Item, requirements: list[Any]) -> None:
    """JUnit properties and Allure labels for the requirements a test verifies."""
    for req in requirements:
        item.user_properties.append(("requirement", req.id))
        item.user_properties.append((f"requirement:{req.id}", f"{req.level} {req.title}"))
    for area in dict.fromkeys(req.area for req in requirements):
        _label(item, area, "epic")
        _label(item, AREA_TITLES.get(area, area), "feature")
    for req in requirements:
        _label(item, f"{req.id} {req.title}", "story")
        _label(item, req.id, "tag")
    must = any(req.level == "MUST" for req in requirements)
    _label(item, "critical" if must else "normal", "severity")
    quotes = "\n\n".join(
        f"{req.id} ({req.level}, {req.section}): \u201c{req.quote}\u201d" for req in requirements
    )
    item.add_marker(pytest.mark.allure_description(quotes))


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    _check_assumption_ids(config, items)
    _select_only(config, items)
    marked = [(item, requirement_ids(item)) for item in items]
    if not any(ids for _, ids in marked):
        return
    catalog = _catalog(config)
    known = set(catalog.ids())
    unknown = [f"{item.nodeid}: {rid}" for item, ids in marked for rid in ids if rid not in known]
    if unknown:
        raise pytest.UsageError(
            f"unknown requirement id in a @pytest.mark.{MARKER} marker (not in "
            f"{catalog.path}): " + "; ".join(unknown[:10])
        )
    for item, ids in marked:
        if ids:
            _trace(item, [catalog.get(rid) for rid in ids])


def _select_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--ihub-only: keep the tests that verify or check one of the given ids (a fault's
    kill needs nothing else, so the kill table runs each variant on its targets only)."""
    only = set(config.getoption("--ihub-only"))
    if not only:
        return
    unknown = only - set(_catalog(config).ids()) - _register_ids(config)
    if unknown:
        raise pytest.UsageError(f"--ihub-only: not a requirement or assumption id: "
                                f"{', '.join(sorted(unknown))}")
    kept, dropped = [], []
    for item in items:
        ids = {*requirement_ids(item), *attribution.assumption_ids(item)}
        (kept if ids & only else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    from ihub_conformance.contract.assumptions import load_assumptions
    from ihub_conformance.errors import ConformanceError
    from ihub_conformance.suite.recording import auth_matcher_for

    suite = state(config)
    try:  # the register's auth header (ASM-01): the one a recorded key travels in
        header = load_assumptions(suite.contract, suite.assumptions_file).get("auth.header")
    except ConformanceError:
        header = "Authorization"  # the bad file is reported where the session opens
    vcr.register_matcher("ihub_auth", auth_matcher_for(header))


# -- outcomes -----------------------------------------------------------------------------


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = report.longreprtext or ""
    if len(text) <= _MESSAGE_LIMIT:
        return text
    # Keep both ends: the start says what failed (Schemathesis's title and curl line),
    # the end holds the assertion and the reproduction block.
    head, tail = text[:_MESSAGE_LIMIT // 3], text[-(2 * _MESSAGE_LIMIT) // 3:]
    return f"{head}\n... ({len(text) - len(head) - len(tail)} characters cut) ...\n{tail}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    suite = item.config.stash.get(STATE, None)
    if suite is None:
        return
    if suite.secrets and report.longrepr is not None and not report.skipped:
        # A failure message must never carry a key, whatever the hub answered.
        report.longrepr = suite.redact(str(report.longrepr))
    _record(suite, item, call, report)


# Outcome precedence per test over its phases: a real failure outranks a
# mismatch, which outranks an unverifiable requirement, a skip and a pass.
_RANK = {"passed": 0, "skipped": 1, "unverifiable": 2, "mismatch": 3, "failed": 4, "error": 4}


def _phase_outcome(report: pytest.TestReport, kind: str) -> str | None:
    if report.failed:
        if kind == "mismatch":
            return "mismatch"
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "unverifiable" if kind == "unverifiable" else "skipped"
    return None


def _record(suite: SuiteState, item: pytest.Item, call: pytest.CallInfo,
            report: pytest.TestReport) -> None:
    """Fold one phase's report into the test's outcome, with its attribution."""
    nodeid = test_id(item)
    entry = suite.outcomes.setdefault(
        nodeid,
        {"nodeid": nodeid, "outcome": "passed", "requirements": requirement_ids(item),
         "assumptions": attribution.assumption_ids(item), "message": "", "duration": 0.0,
         "mismatches": []},
    )
    entry["duration"] = round(entry["duration"] + report.duration, 4)
    kind, detail = attribution.classify(call.excinfo)
    outcome = _phase_outcome(report, kind)
    if outcome is None:
        return
    if kind == "mismatch":
        entry["mismatches"].append(
            {k: suite.redact(str(v)) for k, v in detail.as_dict().items()})
        item.user_properties.append(("assumption_mismatch", detail.asm_id))
    elif kind == "unverifiable":
        item.user_properties.append(("unverifiable", suite.redact(detail)))
    if _RANK[outcome] > _RANK[entry["outcome"]]:
        entry["outcome"] = outcome
        entry["message"] = suite.redact(
            detail.summary() if kind == "mismatch" else
            str(detail) if kind == "unverifiable" else _message(report))


# Allure groups results by these categories (matched on status and message): an
# assumption mismatch or an unverifiable requirement is not a product defect.
ALLURE_CATEGORIES = [
    {"name": "Assumption mismatches (calibrate; not broken requirements)",
     "matchedStatuses": ["failed", "broken"], "messageRegex": "(?s).*assumption mismatch ASM-.*"},
    {"name": "Unverifiable on this hub", "matchedStatuses": ["skipped"],
     "messageRegex": "(?s).*unverifiable: .*"},
    {"name": "Broken requirements", "matchedStatuses": ["failed", "broken"]},
]


def _write_allure_categories(config: pytest.Config) -> None:
    directory = getattr(config.option, "allure_report_dir", None)
    if directory and Path(directory).is_dir():
        (Path(directory) / "categories.json").write_text(
            json.dumps(ALLURE_CATEGORIES, indent=2), encoding="utf-8")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    suite = session.config.stash.get(STATE, None)
    if suite is None:
        return
    _write_allure_categories(session.config)
    if not suite.results_path:
        return
    hub = suite.session
    payload = {
        "contract": suite.contract,
        "mode": suite.mode,
        "target": suite.target if suite.mode in ("reference", "replay") else None,
        "url": hub.display_url if hub is not None else None,
        "run_id": hub.run_id if hub is not None else None,
        "allow_writes": suite.allow_writes,
        "faults": sorted(suite.faults),
        "assumptions_file": suite.assumptions_file,
        "started": suite.started,
        "finished": time.time(),
        "exitstatus": int(exitstatus),
        "requests": hub.requests if hub is not None else 0,
        "seed": suite.seed,
        "retries": hub.policy.retries if hub is not None else 0,
        "planned_writes": list(hub.policy.planned) if hub is not None else [],
        "tests": list(suite.outcomes.values()),
        "written": [w.as_dict() for w in hub.written] if hub is not None else [],
    }
    path = Path(suite.results_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(suite.redact(json.dumps(payload, indent=2)), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    suite = terminalreporter.config.stash.get(STATE, None)
    hub = suite.session if suite is not None else None
    if hub is None:
        return
    terminalreporter.section("ihub-conformance")
    terminalreporter.write_line(
        f"run {hub.run_id}: {suite.mode} target {hub.display_url or suite.target}, "
        f"{hub.requests} requests"
    )
    if not hub.written:
        terminalreporter.write_line("objects written: none")
        return
    if suite.mode == "reference":  # a throw-away hub: counts say enough
        kinds = Counter(obj.kind for obj in hub.written)
        terminalreporter.write_line(
            f"objects written: {len(hub.written)} ("
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            + ") on the reference hub, discarded with it")
        return
    terminalreporter.write_line(f"objects written ({len(hub.written)}, none deleted):")
    for obj in hub.written:
        terminalreporter.write_line(f"  {obj.kind} {obj.id} {obj.name!r}")


# The activity-core fixture: a running reference hub for any project's tests.
from ihub_conformance.reference.fixtures import ihub_reference  # noqa: E402, F401
