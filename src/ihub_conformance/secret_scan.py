"""Find secret-like material in text and JSON values, and redact it for reports.

Two layers, because event streams are scanned at hundreds of thousands of lines a second:

* a *prefilter* (`PREFILTER_PATTERN`): one case-insensitive regex of anchor literals
  ("bearer", "AKIA", "eyJ", "-----BEGIN" ...) plus "a run of 21 token characters". Every
  detector below fires only on a string the prefilter matches, so a value the prefilter
  passes is clean by construction. `prefilter_validator()` compiles the same pattern with
  jsonschema-rs (Rust regex, ~1 µs per event line) for the stream's fast path;
* the *detectors*: precise Python regexes per kind, run only on prefiltered strings.

The detector patterns follow detect-secrets' plugins (AWS, GitHub, Slack, Stripe, JWT,
private key, basic-auth URL, keyword, high entropy); tests/test_secret_scan.py checks that
they agree with detect-secrets on a corpus. detect-secrets itself is not called here: its
`scan_line` costs ~1.2 ms a line (200k events would take 4 minutes) and it flags UUIDs.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

import jsonschema_rs
import orjson

# Finding kinds (stable identifiers; reports and tests use them).
BEARER = "bearer-token"
BASIC_AUTH = "basic-auth-header"
JWT = "jwt"
PRIVATE_KEY = "private-key"
AWS_KEY_ID = "aws-access-key-id"
AWS_SECRET = "aws-secret-access-key"  # noqa: S105 (a kind name)
GCP_KEY = "gcp-api-key"
GCP_OAUTH = "gcp-oauth-token"
SLACK = "slack-token"
GITHUB = "github-token"
GITLAB = "gitlab-token"
STRIPE = "stripe-key"
NPM = "npm-token"
PYPI = "pypi-token"
OPENAI = "openai-key"
URL_CREDENTIALS = "url-credentials"
URL_QUERY_CREDENTIAL = "url-query-credential"
URL_QUERY_STRING = "url-query-string"
PASSWORD_ASSIGNMENT = "password-assignment"  # noqa: S105 (a kind name)
HIGH_ENTROPY = "high-entropy-token"
HIGH_ENTROPY_HEX = "high-entropy-hex"
SUSPICIOUS_KEY = "suspicious-key"

KINDS = (BEARER, BASIC_AUTH, JWT, PRIVATE_KEY, AWS_KEY_ID, AWS_SECRET, GCP_KEY, GCP_OAUTH,
         SLACK, GITHUB, GITLAB, STRIPE, NPM, PYPI, OPENAI, URL_CREDENTIALS,
         URL_QUERY_CREDENTIAL, URL_QUERY_STRING, PASSWORD_ASSIGNMENT, HIGH_ENTROPY,
         HIGH_ENTROPY_HEX, SUSPICIOUS_KEY)


@dataclass(frozen=True)
class SecretFinding:
    """One piece of secret-like material. `preview` is redacted, never the secret."""

    kind: str
    pointer: str
    preview: str
    line: int | None = None


# -- prefilter -------------------------------------------------------------------------
# Anchors every detector needs to see (matched case-insensitively). Keep in step with
# _DETECTORS and the suspicious keys: a detector whose anchor is missing here never fires.
_ANCHORS = (
    "bearer", "basic", "eyj", "begin", "putty", "akia", "asia", "abia", "acca", "a3t",
    "aiza", r"ya29\.", "xox", r"hooks\.slack\.com", "gh[pousr]_", "github_pat_", "glpat-",
    "[rs]k_", "npm_", "pypi-", "sk-", r"\?", "@", "passw", "pwd", "secret", "token", "auth",
    "cookie", "header", "body", "credential", "private", "session", "response", "request",
    "aws", r"api[-_. ]?key", r"access[-_. ]?key", r"\\",
)
# Long runs of token characters: where unknown high-entropy secrets hide. "_" and "-"
# split runs so snake_case keys (`activity_core_run_id`) and UUID groups stay short.
_TOKEN_RUN = r"[A-Za-z0-9+=]{16}"  # noqa: S105 (a pattern)
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


# -- detectors --------------------------------------------------------------------------
_I = re.IGNORECASE
_B64URL = r"A-Za-z0-9_\-"
_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (PRIVATE_KEY, re.compile(r"-----BEGIN(?: [A-Z0-9]+)* PRIVATE KEY(?: BLOCK)?-----"
                             r"|PuTTY-User-Key-File-\d")),
    (JWT, re.compile(rf"\beyJ[{_B64URL}]{{8,}}\.[{_B64URL}]{{2,}}\.[{_B64URL}]*")),
    (BEARER, re.compile(r"\bbearer\s+([A-Za-z0-9._~+/=\-]{8,})", _I)),
    (BASIC_AUTH, re.compile(r"\bbasic\s+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])", _I)),
    (AWS_KEY_ID, re.compile(r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}"
                            r"(?![A-Z0-9])")),
    (AWS_SECRET, re.compile(r"aws.{0,20}?(?:key|pwd|pw|password|pass|token|secret)"
                            r"[^A-Za-z0-9/+]{1,20}?([0-9a-zA-Z/+]{40})(?![0-9a-zA-Z/+])", _I)),
    (GCP_KEY, re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    (GCP_OAUTH, re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}")),
    (SLACK, re.compile(r"\bxox[abposr]-[0-9A-Za-z\-]{10,}"
                       r"|hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+")),
    (GITHUB, re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}"
                        r"|\bgithub_pat_[A-Za-z0-9_]{22,}")),
    (GITLAB, re.compile(r"\bglpat-[A-Za-z0-9_\-]{20}")),
    (STRIPE, re.compile(r"\b[rs]k_(?:live|test)_[0-9a-zA-Z]{16,}")),
    (NPM, re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    (PYPI, re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{20,}")),
    (OPENAI, re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{32,}")),
    (URL_CREDENTIALS, re.compile(r"\b[a-z][a-z0-9+.\-]*://([^/\s:@\"']+:[^/\s@\"']+)@", _I)),
)
# Query parameters that carry credentials (names, not secrets).
_SECRET_PARAMS = "|".join((
    "access_token", "refresh_token", "id_token", "token", "api_key", "apikey", "key", "sig",
    "signature", "password", "passwd", "pwd", "pass", "secret", "client_secret", "auth", "code",
    "session", "sessionid", "x-amz-signature", "x-amz-credential", "x-goog-signature",
))
_QUERY_CREDENTIAL = re.compile(rf"[?&;](?:{_SECRET_PARAMS})=([^&#\s\"']+)", _I)
_URL_WITH_QUERY = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s?#\"']*\?([^\s#\"']+)", _I)
_ASSIGNMENT = re.compile(
    r"(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|client_secret|api_?key|apikey|"
    r"auth_?token|access_?token|secret_?key|private_?key|token)"
    r"[\"']?\s*[:=]\s*[\"']?([^\s\"'`,;&(){}\[\]<>$]{4,})", _I)
# Assigned values that read as names, not secrets: `kind: secret-key`, `token = TokenType`
# (code and prose). Real passwords and keys almost always carry a digit or a symbol.
_WORDISH = re.compile(r"[A-Za-z][A-Za-z_.\-]*")
_PLACEHOLDERS = frozenset({"none", "null", "true", "false", "redacted", "xxxx", "****",
                           "example", "placeholder", "required", "optional", "string"})
# Candidate tokens for the entropy check: base64(url)/hex-ish runs.
_CANDIDATE = re.compile(r"[A-Za-z0-9_+=/\-]{20,}")
_LONG_RUN = re.compile(_TOKEN_RUN)
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# One piece of an identifier: words (lower, Capitalised or CamelCase runs of 2+ letters,
# ACRONYMS) and short numbers. Random tokens interleave single letters and digits.
_WORD_PIECE = re.compile(r"(?:[A-Z]?[a-z]{2,}|[A-Z]{2,}(?![a-z])|\d{1,14})+|v\d+")
_PIECE_SPLIT = re.compile(r"[_+=/\-.]+")
_DIGEST_WORDS = re.compile(r"sha|digest|hash|checksum|commit|revision|etag|fingerprint|"
                           r"integrity|md5", _I)


def _entropy(s: str) -> float:
    n = len(s)
    # str.count per distinct character runs in C; faster than Counter for short tokens.
    return -sum(c / n * math.log2(c / n) for c in map(s.count, set(s)))


def _looks_like_words(token: str) -> bool:
    """Identifier-like runs (`ops-endpoint-verified`, `Api2ServiceCatalog`) are not secrets."""
    pieces = [p for p in _PIECE_SPLIT.split(token) if p]
    return all(_WORD_PIECE.fullmatch(p) for p in pieces)


def _high_entropy(text: str, context: str) -> Iterator[tuple[str, str]]:
    for match in _CANDIDATE.finditer(text):
        token = match.group(0).strip("=")
        if not _LONG_RUN.search(token) or _UUID.fullmatch(token):
            continue
        if not any(c.isdigit() for c in token) or not any(c.isalpha() for c in token):
            continue
        if _HEX.fullmatch(token):
            # Commit ids and content digests are evidence, not secrets.
            before = context + text[max(0, match.start() - 24):match.start()]
            if len(token) >= 32 and _entropy(token) >= 3.0 and not _DIGEST_WORDS.search(before):
                yield HIGH_ENTROPY_HEX, token
            continue
        if _looks_like_words(token):
            continue
        # Random tokens approach log2(len) bits per character; prose and ids stay far below.
        if _entropy(token) >= min(4.2, 0.78 * math.log2(len(token))):
            yield HIGH_ENTROPY, token


def _basic_auth_ok(token: str) -> bool:
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


# A literal (lower-case) each detector's match must contain: skips regexes cheaply.
_GATES: dict[str, tuple[str, ...]] = {
    PRIVATE_KEY: ("-----begin", "putty-user-key-file"), JWT: ("eyj",), BEARER: ("bearer",),
    BASIC_AUTH: ("basic",), AWS_KEY_ID: ("akia", "asia", "abia", "acca", "a3t"),
    AWS_SECRET: ("aws",), GCP_KEY: ("aiza",), GCP_OAUTH: ("ya29.",),
    SLACK: ("xox", "hooks.slack.com"), GITHUB: ("ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                                                "github_pat_"),
    GITLAB: ("glpat-",), STRIPE: ("k_live_", "k_test_"), NPM: ("npm_",),
    PYPI: ("pypi-agei",), OPENAI: ("sk-",), URL_CREDENTIALS: ("@",),
}


def _scan_string(text: str, *, context: str = "", json_mode: bool) -> Iterator[tuple[str, str]]:
    """Yield (kind, secret) pairs for one string. Assumes nothing about the caller."""
    if not might_contain_secret(text):
        return
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DETECTORS:
        if not any(gate in lowered for gate in _GATES[kind]):
            continue
        for m in pattern.finditer(text):
            secret = m.group(m.lastindex or 0)
            if kind == BASIC_AUTH and not _basic_auth_ok(secret):
                continue
            taken.append(m.span(m.lastindex or 0))
            yield kind, secret
    query_credential = False
    has_query = "?" in text or "&" in text or ";" in text
    for m in (_QUERY_CREDENTIAL.finditer(text) if has_query else ()):
        if "://" in text or not json_mode:
            query_credential = True
            taken.append(m.span(1))
            yield URL_QUERY_CREDENTIAL, m.group(1)
    if json_mode and not query_credential and "?" in text:
        # The contract forbids URL query strings in evidence, credential or not.
        m = _URL_WITH_QUERY.search(text)
        if m:
            yield URL_QUERY_STRING, m.group(1)
    for m in (_ASSIGNMENT.finditer(text) if ":" in text or "=" in text else ()):
        value = m.group(1)
        after = text[m.end():m.end() + 1]
        if value.lower() in _PLACEHOLDERS or after in ("(", ".", "[") or _WORDISH.fullmatch(value):
            continue
        if not _overlaps(m.span(1), taken):
            taken.append(m.span(1))
            yield PASSWORD_ASSIGNMENT, value
    for kind, token in _high_entropy(text, context):
        start = text.find(token)
        if not _overlaps((start, start + len(token)), taken):
            yield kind, token


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


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
    for json_mode in (True, False):
        for _, secret in list(_scan_string(text, json_mode=json_mode)):
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
    "accesskey", "secretkey", "sessionid", "clientsecret",
})
_SUSPICIOUS_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "credentials",
                       "credential", "privatekey", "secretkey", "accesskey", "authorization",
                       "cookie", "headers", "body")
_AWS_SECRET_VALUE = re.compile(r"[0-9a-zA-Z/+]{40}")


def is_suspicious_key(key: str) -> bool:
    """True for keys naming raw bodies, headers or credentials (`api_key`, `Set-Cookie`)."""
    if not might_contain_secret(key):
        return False  # every suspicious name holds a prefilter anchor
    norm = _KEY_NORMALISE.sub("", key.lower())
    return norm in _SUSPICIOUS_KEYS or norm.endswith(_SUSPICIOUS_ENDINGS)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


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


def _walk(node: Any, pointer: str, key: str, out: list[SecretFinding]) -> None:
    if isinstance(node, dict | list) and _clean_subtree(node):
        return
    if isinstance(node, dict):
        for k, v in node.items():
            k = str(k)
            if not might_contain_secret(k):  # the common case: a plain field name
                _walk(v, f"{pointer}/{_escape(k)}", k, out)
                continue
            # A secret used as a key must not leak through the pointer either.
            here = f"{pointer}/{_escape(mask_secrets(k))}"
            if is_suspicious_key(k):
                out.append(SecretFinding(SUSPICIOUS_KEY, here,
                                         f"{mask_secrets(k)}: {_describe(v)}"))
            for kind, secret in _scan_string(k, json_mode=True):
                out.append(SecretFinding(kind, here, redact(secret)))
            if (isinstance(v, str) and "aws" in k.lower() and _AWS_SECRET_VALUE.fullmatch(v)
                    and "aws" not in v.lower()):
                out.append(SecretFinding(AWS_SECRET, here, redact(v)))
            _walk(v, here, k, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _walk(v, f"{pointer}/{i}", key, out)
    elif isinstance(node, str):
        for kind, secret in _scan_string(node, context=key, json_mode=True):
            out.append(SecretFinding(kind, pointer, redact(secret)))


def contains_literal(haystack: str | bytes, literal: str | bytes) -> bool:
    """Whether `literal` occurs in `haystack` (str or bytes, either way round): canary checks.

    Also looks for the JSON-escaped and URL-encoded spellings, so a canary cannot hide
    in a report or cassette behind an escape.
    """
    if not literal:
        raise ValueError("empty literal")
    lit = literal.decode() if isinstance(literal, bytes) else literal
    text = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
    if lit in text:
        return True
    spellings = {json.dumps(lit)[1:-1], json.dumps(lit, ensure_ascii=True)[1:-1],
                 quote(lit, safe=""), quote_plus(lit),
                 base64.b64encode(lit.encode()).decode().rstrip("=")}
    return any(s and s in text for s in spellings)
