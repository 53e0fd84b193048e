"""Gate 4: OPS_HUB_KEY is set, authenticates, and stays outside Git.

The key's value and any token-like literal (secret_scan) must appear in no
tracked file of the scanned repositories (`git ls-files`), in no runtime
manifest as a literal (only `valueFrom.secretKeyRef`), and in no report or
cassette. Evidence shows redacted previews only, never the secret.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from pathlib import Path

from ihub_conformance.contract.assumptions import describe_status, status_matches
from ihub_conformance.errors import InputError
from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext
from ihub_conformance.gate.model import CheckOutcome
from ihub_conformance.hub.client import WRONG_KEY

MAX_FILE_BYTES = 2_000_000
MAX_FILES = 20_000  # per root; bounds a scan of a huge tree
MAX_EVIDENCE_PER_ROOT = 20
ALLOW_PRAGMA = "pragma: allowlist secret"  # the detect-secrets convention, token scan only
KEY_NAME = "OPS_HUB_KEY"
# Kubernetes/ExternalSecret fields that *name* a key (secretKey, key, property, name):
# an UPPER_SNAKE value there is a variable name, not a secret, though a generic
# scanner reads the line as a password assignment.
_KEY_NAME_REF = re.compile(r"^\s*-?\s*(secretKey|key|property|name)\s*:\s*['\"]?[A-Z][A-Z0-9_]*"
                           r"['\"]?\s*(#.*)?$")


def tracked_files(repo: str) -> list[Path]:
    """`git ls-files` of a work tree; not a work tree is a usage error (exit 2)."""
    try:
        done = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(repo, f"--scan-repo: git ls-files failed ({type(exc).__name__})") from None
    if done.returncode != 0:
        raise InputError(repo, "--scan-repo: not a git work tree")
    names = [n for n in done.stdout.decode("utf-8", "replace").split("\0") if n]
    return [Path(repo) / n for n in names[:MAX_FILES]]


def _walk(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    files: list[Path] = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files.append(path)
            if len(files) >= MAX_FILES:
                break
    return files


def _read_text(path: Path) -> str | None:
    try:
        if path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    if b"\0" in raw[:8192]:
        return None  # binary
    return raw.decode("utf-8", "replace")


def _key_lines(text: str, key: str) -> Iterator[int]:
    for number, line in enumerate(text.splitlines(), start=1):
        if key in line:
            yield number


class _Scanner:
    """Scans files for the key and token-like literals, bounding the evidence per root."""

    def __init__(self, out: CheckOutcome, key: str | None) -> None:
        self.out = out
        self.key = key if key and len(key) >= 8 else None
        self.files = 0

    def scan(self, label: str, files: list[Path],
             tokens: Callable[[Path], bool] = lambda _path: True) -> int:
        found = 0
        for path in files:
            text = _read_text(path)
            if text is None:
                continue
            self.files += 1
            for where, what, actual in self._findings(path, text, tokens(path)):
                found += 1
                if found <= MAX_EVIDENCE_PER_ROOT:
                    self.out.fail(what, where, f"no secret in {label}", actual)
        if not found and files:
            self.out.ok(f"no secret in {label}", label, "none", f"{len(files)} files, none")
        if found > MAX_EVIDENCE_PER_ROOT:
            self.out.fail(f"{found - MAX_EVIDENCE_PER_ROOT} more findings in {label}", label,
                          "none", "not listed")
        return found

    def _findings(self, path: Path, text: str, tokens: bool) -> Iterator[tuple[str, str, str]]:
        if self.key and _deps.contains_literal(text, self.key):
            lines = list(_key_lines(text, self.key)) or [0]
            for line in lines:
                where = f"{path}:{line}" if line else str(path)
                yield where, f"{KEY_NAME} value committed", f"{_deps.redact(self.key)}"
        if not tokens:
            return
        rows = text.splitlines()
        for finding in _deps.scan_text(text):
            line = getattr(finding, "line", None)
            row = rows[line - 1] if line and 0 < line <= len(rows) else ""
            if ALLOW_PRAGMA in row or (finding.kind == "password-assignment"
                                       and _KEY_NAME_REF.match(row)):
                continue
            where = f"{path}:{line}" if line else str(path)
            yield where, f"token-like literal ({finding.kind})", str(finding.preview)


def _token_filter(roots: list[str], patterns: list[str]) -> Callable[[Path], bool]:
    """Whether a file gets the token-like scan: not under an --scan-exclude glob.

    Globs match the path relative to a scanned repository or the current directory.
    Test corpora of fake secrets are excluded this way; the key value never is.
    """
    bases = [Path(r).resolve() for r in roots] + [Path.cwd()]

    def wanted(path: Path) -> bool:
        full = path.resolve()
        names = {path.as_posix()}
        for base in bases:
            if full.is_relative_to(base):
                names.add(full.relative_to(base).as_posix())
        return not any(fnmatch(name, pattern) for name in names for pattern in patterns)

    return wanted


def _manifest_literals(ctx: GateContext, out: CheckOutcome) -> None:
    """The key env var must come from a Secret; a Secret in Git must carry no value."""
    manifests = ctx.manifests
    if manifests is None:
        return
    for container in manifests.containers:
        for entry in container.env:
            if entry.name == KEY_NAME and entry.value is not None:
                shown = _deps.redact(entry.value.value) if entry.value.value else "''"
                out.fail(f"{KEY_NAME} given as a literal value ({container.workload} "
                         f"container {container.name})", entry.value.where,
                         "valueFrom.secretKeyRef only", f"literal {shown}")
    for secret in manifests.secrets.values():
        for field, located in secret.data.items():
            if located.value.strip():
                out.fail(f"Secret {secret.name} carries a value for {field} in Git",
                         located.where, "no value in Git (provisioned out of band)",
                         f"value {_deps.redact(located.value)}")


def authenticate(ctx: GateContext, out: CheckOutcome) -> None:
    """GET the consumer with the key: 200 means it authenticates (sets ctx.authenticated)."""
    if not ctx.key:
        out.fail(f"{ctx.config.key_env} is not set", f"env {ctx.config.key_env}",
                 "set (from a Secret, never the command line)", "unset or empty")
        return
    if not ctx.assumptions.has_endpoint("consumer"):
        _authenticate_by_list(ctx, out)
        return
    path = ctx.api().path("consumer")
    response = ctx.api().get(path)
    if response.status_code != 200:
        out.fail("the key does not authenticate", f"GET {path}", "200",
                 str(response.status_code))
        return
    try:
        consumer = response.json()
    except ValueError:
        consumer = None
    if not isinstance(consumer, dict):
        out.fail("consumer answer does not decode", f"GET {path}", "a consumer object",
                 "not a JSON object")
        return
    ctx.consumer = consumer
    out.ok("the key is accepted", f"GET {path}", "200",
           f"200 consumer {consumer.get('name')!r}, manifest {consumer.get('manifestId')}")
    ctx.authenticated = _key_is_needed(ctx, out, path)
    if not consumer.get("manifestId"):
        out.notes.append("the consumer is not bound to a manifest: the hub will not enforce "
                         "declared event types for it (gate 6 shows the effect)")


def _key_is_needed(ctx: GateContext, out: CheckOutcome, consumer_path: str) -> bool:
    """The hub must refuse its reads without a key and with a wrong one (ASM-01).

    A hub that answers everyone proves nothing by accepting the key. Probed on the
    consumer read and on the widget list the source calls "authenticated".
    """
    if not ctx.assumptions.get("auth.header"):
        out.notes.append("the register says this hub takes no key (auth.header: null): "
                         "that the key is needed cannot be observed")
        return True
    expected = ctx.assumptions.values["status"]["rejections"]["unauthorized"]
    refused = True
    for path in (ctx.assumptions.path("widgets"), consumer_path):
        for label, key in (("no key", None), ("a wrong key", WRONG_KEY)):
            status = ctx.api().get(path, key=key).status_code
            if 400 <= status < 500 and status_matches(expected, status):
                out.ok(f"a request with {label} is refused", f"GET {path}",
                       describe_status(expected), str(status))
                continue
            refused = False
            out.fail(f"the hub accepts a request with {label}: the key is not needed",
                     f"GET {path}", f"refused ({describe_status(expected)})", str(status))
    return refused


def _authenticate_by_list(ctx: GateContext, out: CheckOutcome) -> None:
    """A hub without consumer introspection (ASM-10): the key reads a list, and the
    override file's stand_ins.consumer says which manifest it is bound to."""
    path = ctx.api().path("widgets")
    response = ctx.api().page("widgets", size=1)
    if response.status_code != 200:
        out.fail("the key does not authenticate", f"GET {path}", "200",
                 str(response.status_code))
        return
    stand_in = ctx.assumptions.get("stand_ins.consumer") or {}
    ctx.consumer = {"name": "(stand-in)", "hubId": stand_in.get("hubId")
                    or ctx.assumptions.get("stand_ins.hub_id"),
                    "manifestId": stand_in.get("manifestId")}
    out.ok("the key is accepted", f"GET {path}", "200",
           "200 (no consumer read; binding from stand_ins.consumer)")
    ctx.authenticated = _key_is_needed(ctx, out, path)


def check_key_custody(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome("4", details={"requirements": ["GATE-04", "SEC-01"]})
    if ctx.client is not None:
        authenticate(ctx, out)
    elif not ctx.key:
        out.fail(f"{ctx.config.key_env} is not set", f"env {ctx.config.key_env}", "set",
                 "unset or empty")
    if ctx.key and len(ctx.key) < 8:
        out.notes.append("the key is shorter than 8 characters: literal scans skipped "
                         "(too many false matches); a production key should be longer")
    scanner = _Scanner(out, ctx.key)
    tokens = _token_filter(ctx.config.scan_repos, ctx.config.scan_exclude)
    for repo in ctx.config.scan_repos:
        scanner.scan(f"tracked files of {repo}", tracked_files(repo), tokens)
    for path in ctx.config.runtime_manifests:
        scanner.scan(f"runtime manifest {path}", [Path(path)])
    _manifest_literals(ctx, out)
    for root in [str(ctx.config.report_dir)] if ctx.config.report_dir else []:
        scanner.scan(f"report dir {root}", _walk(Path(root)))
    for root in ctx.config.cassette_dirs:
        scanner.scan(f"cassettes {root}", _walk(Path(root)), tokens)
    out.details["filesScanned"] = scanner.files
    if scanner.files == 0 and not out.failures:
        return out.block("no file was scanned (give --scan-repo, --runtime-manifest or "
                         "--cassettes): the key's custody is unproven")
    if ctx.config.scan_exclude:
        out.notes.append("token-like literals not reported under --scan-exclude "
                         f"{' '.join(ctx.config.scan_exclude)} (the key itself is checked "
                         "everywhere)")
    if not ctx.config.scan_repos:
        out.notes.append("no --scan-repo given: no repository was scanned for the key")
    out.notes.append("the value is provisioned out of band (preferably OpenBao "
                     "platform/operators/ops-hub/runtime, field OPS_HUB_KEY)")
    return out.settle(f"the key is needed and accepted, and appears in none of "
                      f"{scanner.files} scanned files; runtime manifests reference it "
                      "through a Secret only")
