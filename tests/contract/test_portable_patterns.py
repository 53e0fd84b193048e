"""Every regular expression of every contract version means the same in every engine.

JSON Schema 2020-12 specifies ECMA-262 patterns. Consumers read ours with Python `re`
(python-jsonschema), Rust `regex` / `fancy-regex` (jsonschema-rs; `regress` in
check-jsonschema) and JavaScript (Ajv, which compiles with the `u` flag). Each pattern is
compiled in all of them and run over one shared set of probe strings; every engine must
give the same answer on every probe, and every pattern must match some probe and miss
another (a pattern no probe exercises proves nothing).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import regress
import yaml

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
_WS = "\t\n\v\f\r \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"

# Syntax outside the common subset: inline flags and other (? groups but (?:, classes
# whose meaning differs per engine (\s \d \w \b: Unicode in Python and Rust, ASCII or
# otherwise in JavaScript), `.` (JavaScript also stops at \r, U+2028, U+2029),
# back-references, Python/Rust-only anchors and escapes, and `{,n}`.
_NON_PORTABLE = re.compile(
    r"\(\?(?!:)|\\[sSdDwWbBAZzpPhHNRKGXQE0-9]|\{,|\[\^?\]"
)


def _patterns(node: Any, where: str) -> Iterator[tuple[str, str, bool]]:
    """(location, pattern, is a patternProperties key) for every regex under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "pattern" and isinstance(value, str):
                yield here, value, False
            elif key == "patternProperties" and isinstance(value, dict):
                for name in value:
                    yield f"{here}/{name[:24]}...", name, True
            elif key == "x-secret-patterns" and isinstance(value, list):
                for index, (_reason, pattern) in enumerate(value):
                    yield f"{here}/{index}", pattern, False
            yield from _patterns(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, f"{where}/{index}")


def _documents() -> Iterator[tuple[str, Any]]:
    for version in sorted(CONTRACTS.glob("v[0-9]*")):
        for path in sorted(version.iterdir()):
            if path.name.endswith(".schema.json"):
                yield f"{version.name}/{path.name}", json.loads(path.read_text("utf-8"))
            elif path.name == "openapi.yaml":
                yield f"{version.name}/{path.name}", yaml.safe_load(path.read_text("utf-8"))


def _all_patterns() -> list[tuple[str, str, bool]]:
    return [found for name, doc in _documents() for found in _patterns(doc, name)]


PATTERNS = _all_patterns()
UNIQUE = sorted({pattern for _, pattern, _ in PATTERNS})

_TOKEN = "AbCdEfGh12345678AbCdEfGh12345678"
PROBES = [
    "", "a", "ops-hub", "ops_hub.x", "Ops-Hub", "-ops", "ops hub", "3.1.0", "v1", "ASM-01",
    "ops-hub\n", "\nops-hub", "ops-hub\r", "ops\u00a0hub", "ops\x1chub", "\x1c", "\x00",
    *_WS, "\ufeff", "run-1", "run-1:ctx", "railiance/inter-hub", "caf\u00e9", "\U0001f600",
    "\u0661\u0662", "\u212a", "\u017fecret", "K", "k",
    "00000000-0000-4000-8000-000000000105", "00000000-0000-4000-8000-000000000105\n",
    "00000000-0000-4000-8000-0000000001050", "urn:uuid:00000000-0000-4000-8000-000000000105",
    "2026-06-27T10:15:00Z", "2026-06-27t10:15:00.123+02:00", "2026-06-27T10:15:00Z\n",
    "2026-06-27T10:15:00+02:00x", "2026-06-27T10:15:00Z\u0000", "2026-06-27 10:15:00Z",
    "2026-06-27T10:15:00",
    "Bearer abc", "BEARER\tabc", "x bEaReR\u00a0abc", "bearer", "Bearer\u2028x",
    "basic dXNlcjpwYXNzd29yZA==", "BASIC dXNlcjpwYXNz",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
    "https://hub.example/p?q=1", "HTTPS://HUB.EXAMPLE/?Q", "see ?token=1", "?A[0]=1",
    "http://user:pw@host", "HTTP://USER:PW@HOST", "-----BEGIN RSA PRIVATE KEY-----",
    "AKIAABCDEFGHIJKLMNOP", "ghp_" + "a" * 36, "sk-" + "A" * 24, "password=hunter2",
    "PassWord : x", "API-KEY=1", "Authorization: Basic", "x\ncookie: a=b", "X\rCookie: a",
    "<!DOCTYPE html>", "<HTML>", "HTTP/1.1 200 OK", "http/2 404", _TOKEN, _TOKEN.lower(),
    _TOKEN + "\n", _TOKEN + " x", "password", "Password", "PASSWD", "x_body", "responseBody",
    "body", "antibody", "headers", "HEADER", "raw", "Raw_payload", "session_id", "SessionID",
    "x_body\n", "body\u0000", "passwort", "jwt_claims", "private-key", "query_string",
    "/api/v2/widgets", "api/v2", "X-Api-Key", "x-api-key", "Token", "token", "Token\n",
    "3.0.3", "ops-hub\u0085",
]


def _python(pattern: str, probe: str) -> bool:
    return re.search(pattern, probe) is not None


def _rust(pattern: str, probe: str, options: Any = None) -> bool:
    kwargs = {"pattern_options": options} if options is not None else {}
    return not jsonschema_rs.validator_for({"not": {"pattern": pattern}}, **kwargs).is_valid(
        probe)


def _rust_regex(pattern: str, probe: str) -> bool:
    return _rust(pattern, probe, jsonschema_rs.RegexOptions())


def _regress(pattern: str, probe: str) -> bool:
    return regress.Regex(pattern, flags="u").find(probe) is not None


_JS = """
const {patterns, probes} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = patterns.map(p => { try { const r = new RegExp(p, 'u');
  return probes.map(s => r.test(s)); } catch (e) { return 'error: ' + e.message; } });
process.stdout.write(JSON.stringify(out));
"""


def _javascript(patterns: list[str], probes: list[str]) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed here (the interop session requires it)")
    done = subprocess.run([node, "-e", _JS], input=json.dumps(
        {"patterns": patterns, "probes": probes}), capture_output=True, text=True,
        timeout=60, check=True)
    return json.loads(done.stdout)


def _probes_for(pattern: str) -> list[str]:
    # `$` survives only in patternProperties keys (a suffix cannot be said otherwise);
    # Python's `$` also matches before a final newline, so those keys are compared on
    # names without one, and test_dollar_keys_sit_where_line_breaks_are_refused holds the rest.
    if "$" in pattern.replace("\\$", ""):
        return [probe for probe in PROBES if not probe.endswith("\n")]
    return PROBES


def test_the_contracts_have_patterns_to_check() -> None:
    assert len(UNIQUE) >= 15
    assert any(is_key for _, _, is_key in PATTERNS)


@pytest.mark.parametrize(("where", "pattern", "is_key"), PATTERNS, ids=lambda v: str(v)[:60])
def test_every_pattern_uses_the_portable_subset(where: str, pattern: str, is_key: bool) -> None:
    bad = _NON_PORTABLE.search(pattern)
    assert bad is None, f"{where}: {bad.group()!r} is not in the common subset"
    assert "." not in _outside_classes(pattern).replace("\\.", ""), f"{where}: bare '.'"
    if not is_key:
        assert "$" not in _outside_classes(pattern).replace("\\$", ""), (
            f"{where}: '$' (Python also matches it before a final newline)")


def _outside_classes(pattern: str) -> str:
    """`pattern` with its character classes and escapes blanked out."""
    return re.sub(r"\\.|\[(?:\\.|[^\]\\])*\]", lambda m: "\\." if m.group() == "\\." else (
        "\\$" if m.group() == "\\$" else ""), pattern)


def test_every_engine_gives_the_same_answer_on_every_probe() -> None:
    javascript = _javascript(UNIQUE, PROBES)
    disagreements, unexercised = [], []
    for pattern, js_row in zip(UNIQUE, javascript, strict=True):
        assert not isinstance(js_row, str), f"JavaScript refuses {pattern!r}: {js_row}"
        probes = _probes_for(pattern)
        answers = set()
        for probe in probes:
            results = {
                "python": _python(pattern, probe),
                "jsonschema-rs": _rust(pattern, probe),
                "rust-regex": _rust_regex(pattern, probe),
                "regress": _regress(pattern, probe),
                "javascript": js_row[PROBES.index(probe)],
            }
            if len(set(results.values())) > 1:
                disagreements.append((pattern[:60], probe, results))
            answers.add(results["python"])
        if answers != {True, False}:
            unexercised.append(pattern)
    assert not disagreements, disagreements[:5]
    assert not unexercised, f"no probe both matches and misses: {unexercised}"


def test_dollar_keys_sit_where_line_breaks_are_refused() -> None:
    """A patternProperties key ending in `$`: its object must refuse names with a line
    break some other way (propertyNames, or no other properties at all), so Python's
    reading of `$` never decides a verdict."""
    found = 0
    for name, doc in _documents():
        for node in _objects(doc):
            keys = [key for key in node.get("patternProperties", {}) if "$" in key]
            if not keys:
                continue
            found += 1
            closed = node.get("unevaluatedProperties") is False or (
                node.get("additionalProperties") is False)
            names = node.get("propertyNames", {})
            assert closed or _refuses(names, "x_body\n"), f"{name}: {keys[0][:40]}"
    assert found >= 3


def _refuses(schema: Any, name: str) -> bool:
    return bool(schema) and not jsonschema_rs.validator_for(schema).is_valid(name)


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_the_secret_alternation_is_its_listed_patterns() -> None:
    """x-secret-patterns names each kind; the `not` pattern must be exactly their union."""
    checked = 0
    for _, doc in _documents():
        for node in _objects(doc):
            if "x-secret-patterns" in node:
                listed = "|".join(f"(?:{p})" for _, p in node["x-secret-patterns"])
                assert node["not"]["pattern"] == listed
                checked += 1
    assert checked >= 2


@pytest.mark.parametrize("pattern", [r"(?i)a", r"\s", r"a.b", r"a$", r"\d"])
def test_the_subset_check_refuses_python_only_syntax(pattern: str) -> None:
    with pytest.raises(AssertionError):
        test_every_pattern_uses_the_portable_subset("probe", pattern, False)


def test_the_agreement_check_sees_a_python_only_reading() -> None:
    # `$` before a final newline: Python matches, JavaScript does not.
    assert _python("a$", "a\n") != _javascript(["a$"], ["a\n"])[0][0]
    assert _python(r"\s", "\x1c") != _rust(r"\s", "\x1c")
