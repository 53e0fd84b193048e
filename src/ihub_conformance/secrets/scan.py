"""Find secret-like material in text and JSON values, and redact it for reports.

Two layers, because event streams are scanned at hundreds of thousands of lines a second:

* a *prefilter* (`PREFILTER_PATTERN`): one case-insensitive regex of anchor literals
  ("bearer", "AKIA", "eyJ", "-----BEGIN" ...) plus "a run of 16 token characters". Every
  detector below fires only on a string the prefilter matches, so a value the prefilter
  passes is clean by construction. `prefilter_validator()` compiles the same pattern with
  jsonschema-rs (Rust regex, ~1 µs per event line) for the stream's fast path;
* the *detectors* (`_secret_detectors`, which also defines the kind names exported
  here): precise Python regexes per kind, run only on prefiltered strings.

The detector patterns follow detect-secrets' plugins (AWS, GitHub, Slack, Stripe, JWT,
private key, basic-auth URL, keyword, high entropy); tests/test_secret_scan.py checks that
they agree with detect-secrets on a corpus. detect-secrets itself is not called here: its
`scan_line` costs ~1.2 ms a line (200k events would take 4 minutes) and it flags UUIDs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, NamedTuple

import jsonschema_rs
import orjson

from ihub_conformance.documents import pointer_token
from ihub_conformance.secrets.detectors import (
    _TOKEN_RUN,
    AWS_KEY_ID,
    AWS_SECRET,
    BASIC_AUTH,
    BEARER,
    GCP_KEY,
    GCP_OAUTH,
    GITHUB,
    GITLAB,
    HIGH_ENTROPY,
    HIGH_ENTROPY_HEX,
    JWT,
    KINDS,
    NPM,
    OPENAI,
    PASSWORD_ASSIGNMENT,
    PRIVATE_KEY,
    PYPI,
    SLACK,
    STRIPE,
    SUSPICIOUS_KEY,
    URL_CREDENTIALS,
    URL_QUERY_CREDENTIAL,
    URL_QUERY_STRING,
    scan_string,
)

# The finding kinds are defined with the detectors; they are part of this module's API.
from ihub_conformance.secrets.scrub import spellings

__all__ = [
    "AWS_KEY_ID", "AWS_SECRET", "BASIC_AUTH", "BEARER", "GCP_KEY", "GCP_OAUTH", "GITHUB",
    "GITLAB", "HIGH_ENTROPY", "HIGH_ENTROPY_HEX", "JWT", "KINDS", "NPM", "OPENAI",
    "PASSWORD_ASSIGNMENT", "PREFILTER_PATTERN", "PRIVATE_KEY", "PYPI", "SLACK", "STRIPE",
    "SUSPICIOUS_KEY", "URL_CREDENTIALS", "URL_QUERY_CREDENTIAL", "URL_QUERY_STRING",
    "SecretFinding", "contains_literal", "is_suspicious_key", "mask_secrets",
    "might_contain_secret", "prefilter_validator", "redact", "scan_json", "scan_text",
]


class SecretFinding(NamedTuple):
    """One piece of secret-like material. `preview` is redacted, never the secret."""

    kind: str
    pointer: str
    preview: str
    line: int | None = None


# -- prefilter -------------------------------------------------------------------------
# Anchors every detector needs to see (matched case-insensitively). Keep in step with
# _DETECTORS and the suspicious keys: a detector whose anchor is missing here never fires.
# Compound key names allow any run of separators (`api__key`, `API/KEY`): the names are
# compared with every non-alphanumeric character removed.
_ANCHORS = (
    "bearer", "basic", "eyj", "begin", "putty", "akia", "asia", "abia", "acca", "a3t",
    "aiza", r"ya29\.", "xox", r"hooks\.slack\.com", "gh[pousr]_", "github_pat_", "glpat-",
    "[rs]k_", "npm_", "pypi-", "sk-", r"\?", "@", "pass", "pw", "secret", "token", "auth",
    "cookie", "header", "body", "cred", "private", "session", "response", "request",
    "aws", r"(?:api|access|signing|encryption|master|hmac|shared|account|ssh|deploy)"
    r"[^A-Za-z0-9]*key", r"\\",
)
# `_TOKEN_RUN` (from the detectors): long runs of token characters.
PREFILTER_PATTERN = "(?i)" + "|".join(_ANCHORS) + "|" + _TOKEN_RUN


@lru_cache(maxsize=1)
def prefilter_validator() -> Any:
    """A jsonschema-rs validator whose `is_valid(text)` is True when `text` is clean.

    Applied to a whole raw JSON line: a line it accepts holds no string any detector
    could flag (escaped strings contain a backslash, which is an anchor). Rust's regex
    engine runs this alternation ~50x faster than Python's `re` (1-2 µs for a 500-byte
    line against ~60 µs), so the Python side uses it too, string by string.
    """
    return jsonschema_rs.validator_for(
        {"not": {"pattern": PREFILTER_PATTERN}}, pattern_options=jsonschema_rs.RegexOptions()
    )


def might_contain_secret(text: str) -> bool:
    """Cheap test: False means no detector can fire on `text`."""
    return not prefilter_validator().is_valid(text)


def _scan_string(text: str, *, context: str = "", json_mode: bool) -> Iterator[tuple[str, str]]:
    """(kind, secret) pairs for one string: the prefilter, then the detectors it leaves."""
    if not might_contain_secret(text):
        return iter(())
    return scan_string(text, context=context, json_mode=json_mode)


# -- public API ---------------------------------------------------------------------------
def redact(secret: str) -> str:
    """A preview safe to print: at most the first 4 characters, none for short secrets."""
    if len(secret) >= 16:
        return f"{secret[:4]}…({len(secret)} chars)"
    return f"…({len(secret)} chars)"


def mask_secrets(text: str) -> str:
    """`text` with every detected secret replaced by its redacted preview."""
    if not might_contain_secret(text):
        return text
    return _mask_flagged(text, list(scan_string(text, json_mode=True)))


def _mask_flagged(text: str, json_found: list[tuple[str, str]]) -> str:
    # mask_secrets for a flagged `text` whose JSON-mode findings the caller already has;
    # the text-mode pass then runs on the text with those masked.
    for _, secret in json_found:
        text = text.replace(secret, redact(secret))
    for _, secret in list(_scan_string(text, json_mode=False)):
        text = text.replace(secret, redact(secret))
    return text


def scan_text(text: str) -> list[SecretFinding]:
    """Secret-like material in free text (files, logs, cassettes), with line numbers."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, secret in _scan_string(line, json_mode=False):
            findings.append(SecretFinding(kind, "", redact(secret), number))
    return findings


_KEY_NORMALISE = re.compile(r"[^a-z0-9]")
# Normalised key names (lower-case, no separators) that must not occur in evidence:
# raw bodies and headers, credentials. Exact names first, then endings.
_SUSPICIOUS_KEYS = frozenset({
    "body", "rawbody", "responsebody", "requestbody", "rawresponse", "response", "request",
    "headers", "header", "requestheaders", "responseheaders", "rawheaders", "authorization",
    "proxyauthorization", "cookie", "cookies", "setcookie", "password", "passwd", "pwd",
    "secret", "token", "apikey", "xapikey", "credentials", "credential", "privatekey",
    "accesskey", "secretkey", "sessionid", "clientsecret", "pw", "pass", "passphrase",
    "creds", "cred",
})
_SUSPICIOUS_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "credentials",
                       "credential", "privatekey", "secretkey", "accesskey", "authorization",
                       "cookie", "headers", "body", "passphrase", "creds", "signingkey",
                       "encryptionkey", "masterkey", "hmackey", "sharedkey", "accountkey",
                       "sshkey", "deploykey")
# Names that also read as a check's outcome (`"pass": true`): see _suspicious_name.
_OUTCOME_NAMES = frozenset({"pass", "pw"})
_AWS_SECRET_VALUE = re.compile(r"[0-9a-zA-Z/+]{40}")


def is_suspicious_key(key: str) -> bool:
    """True for keys naming raw bodies, headers or credentials (`api_key`, `Set-Cookie`)."""
    if not might_contain_secret(key):
        return False  # every suspicious name holds a prefilter anchor
    return _suspicious_name(key)


def _suspicious_name(key: str, value: Any = "") -> bool:
    # `value`: what the key holds; `pass` and `pw` name a credential only when it is text
    # or structure (`"pass": true` is a check's outcome). Text is assumed when unknown.
    norm = _KEY_NORMALISE.sub("", key.lower())
    if norm in _OUTCOME_NAMES and not isinstance(value, str | dict | list):
        return False
    return norm in _SUSPICIOUS_KEYS or norm.endswith(_SUSPICIOUS_ENDINGS)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return f"object with {len(value)} keys"
    if isinstance(value, list):
        return f"array of {len(value)}"
    return type(value).__name__


def scan_json(value: Any) -> list[SecretFinding]:
    """Secret-like material anywhere in a parsed JSON value; pointers are RFC 6901."""
    findings: list[SecretFinding] = []
    _walk(value, "", "", findings)
    return findings


def _clean_subtree(node: dict[Any, Any] | list[Any]) -> bool:
    """True when no key or string below `node` can fire: its JSON text passes the prefilter.

    Every key and string appears verbatim in the serialisation (escapes add a backslash,
    itself an anchor), so this prunes clean branches without walking them.
    """
    try:
        text = orjson.dumps(node).decode()
    except (TypeError, orjson.JSONEncodeError):
        return False  # non-JSON keys or huge ints: walk it
    return not might_contain_secret(text)


# Pruning only saves work: a key or string the prefilter passes yields nothing, so the
# findings are the same whichever branches are skipped. Below the top, a container with
# up to this many children is walked without the test: a Rust call on each short string
# costs less than serialising the branch (and most branches of a flagged event are small).
_TEST_WHOLE_FROM = 8


def _walk(node: Any, pointer: str, key: str, out: list[SecretFinding]) -> None:
    """Findings for any value `node` at `pointer`; `key` is the field a string sits under."""
    if isinstance(node, str):
        if might_contain_secret(node):
            _scan_value(node, pointer, key, out)
    elif isinstance(node, dict | list) and not _clean_subtree(node):
        _walk_children(node, pointer, key, out)


def _scan_value(text: str, pointer: str, key: str, out: list[SecretFinding]) -> None:
    # `text` is a flagged string: the prefilter has run.
    for kind, secret in scan_string(text, context=key, json_mode=True):
        out.append(SecretFinding(kind, pointer, redact(secret)))


def _walk_children(node: dict[Any, Any] | list[Any], pointer: str, key: str,
                   out: list[SecretFinding]) -> None:
    # The hot loop of a flagged line: list items and object members take the same path
    # (`_walk_child`); only a flagged object key needs more (`_walk_flagged_key`).
    clean = prefilter_validator().is_valid
    if isinstance(node, list):
        for i, v in enumerate(node):
            _walk_child(v, pointer, i, key, out, clean)
        return
    for k, v in node.items():
        if type(k) is not str:
            k = str(k)
        if not clean(k):
            _walk_flagged_key(k, v, pointer, out)
        else:
            _walk_child(v, pointer, k, k, out, clean)


def _walk_child(v: Any, pointer: str, step: int | str, key: str, out: list[SecretFinding],
                clean: Any) -> None:
    """One child of a flagged container, at `pointer`/`step`. Its pointer is built only
    for a finding or a container (most strings are clean), and the pruning test is inlined
    (see _TEST_WHOLE_FROM)."""
    if isinstance(v, str):
        if not clean(v):
            _scan_value(v, _child(pointer, step), key, out)
    elif (isinstance(v, dict | list) and v
          and (len(v) < _TEST_WHOLE_FROM or not _clean_subtree(v))):
        _walk_children(v, _child(pointer, step), key, out)


def _child(pointer: str, step: int | str) -> str:
    return f"{pointer}/{step}" if type(step) is int else f"{pointer}/{pointer_token(step)}"


def _walk_flagged_key(k: str, v: Any, pointer: str, out: list[SecretFinding]) -> None:
    # `k` is a flagged key: its JSON-mode findings serve both the mask and the report.
    found = list(scan_string(k, json_mode=True))
    masked = _mask_flagged(k, found)
    # A secret used as a key must not leak through the pointer either.
    here = f"{pointer}/{pointer_token(masked)}"
    if _suspicious_name(k, v):
        out.append(SecretFinding(SUSPICIOUS_KEY, here, f"{masked}: {_describe(v)}"))
    for kind, secret in found:
        out.append(SecretFinding(kind, here, redact(secret)))
    if (isinstance(v, str) and "aws" in k.lower() and _AWS_SECRET_VALUE.fullmatch(v)
            and "aws" not in v.lower()):
        out.append(SecretFinding(AWS_SECRET, here, redact(v)))
    _walk(v, here, k, out)


def contains_literal(haystack: str | bytes, literal: str | bytes) -> bool:
    """Whether `literal` occurs in `haystack` (str or bytes, either way round): canary checks.

    Looks for every spelling the scrubber replaces (`scrub.spellings`: JSON-escaped,
    URL-encoded, base64), so a canary cannot hide in a report or cassette behind one.
    """
    if not literal:
        raise ValueError("empty literal")
    lit = literal.decode() if isinstance(literal, bytes) else literal
    text = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
    return any(s in text for s in spellings(lit))
