"""The detectors behind `secret_scan`: finding kinds, precise patterns, entropy heuristics.

`scan_string` runs them over one string that the secret_scan prefilter has already
flagged (it does not test the prefilter again). Kept apart from secret_scan, which owns
the prefilter, the JSON walk and the public API, and re-exports the kind names.

Speed matters here because every string the prefilter flags comes through (the event
stream's slow path): a precomputed gate table picks the few detectors whose literal
occurs in the string, and the entropy checks run only for tokens no other finding covers.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterator
from functools import lru_cache

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

# -- detectors --------------------------------------------------------------------------
# In report order. Each detector has gates: lower-case literals one of which its match
# must contain, so a string holding none of them skips the regex. The secret_scan
# prefilter's anchors must cover every gate (a detector whose anchor is missing there
# never fires).
_I = re.IGNORECASE
_B64URL = r"A-Za-z0-9_\-"
_DETECTORS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    (PRIVATE_KEY, re.compile(r"-----BEGIN(?: [A-Z0-9]+)* PRIVATE KEY(?: BLOCK)?-----"
                             r"|PuTTY-User-Key-File-\d"), ("-----begin", "putty-user-key-file")),
    (JWT, re.compile(rf"\beyJ[{_B64URL}]{{8,}}\.[{_B64URL}]{{2,}}\.[{_B64URL}]*"), ("eyj",)),
    (BEARER, re.compile(r"\bbearer\s+([A-Za-z0-9._~+/=\-]{8,})", _I), ("bearer",)),
    (BASIC_AUTH, re.compile(r"\bbasic\s+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])", _I),
     ("basic",)),
    (AWS_KEY_ID, re.compile(r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}"
                            r"(?![A-Z0-9])"), ("akia", "asia", "abia", "acca", "a3t")),
    (AWS_SECRET, re.compile(r"aws.{0,20}?(?:key|pwd|pw|password|pass|token|secret)"
                            r"[^A-Za-z0-9/+]{1,20}?([0-9a-zA-Z/+]{40})(?![0-9a-zA-Z/+])", _I),
     ("aws",)),
    (GCP_KEY, re.compile(r"AIza[0-9A-Za-z_\-]{35}"), ("aiza",)),
    (GCP_OAUTH, re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}"), ("ya29.",)),
    (SLACK, re.compile(r"\bxox[abposr]-[0-9A-Za-z\-]{10,}"
                       r"|hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+"),
     ("xox", "hooks.slack.com")),
    (GITHUB, re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}"
                        r"|\bgithub_pat_[A-Za-z0-9_]{22,}"),
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    (GITLAB, re.compile(r"\bglpat-[A-Za-z0-9_\-]{20}"), ("glpat-",)),
    (STRIPE, re.compile(r"\b[rs]k_(?:live|test)_[0-9a-zA-Z]{16,}"), ("k_live_", "k_test_")),
    (NPM, re.compile(r"\bnpm_[A-Za-z0-9]{36}"), ("npm_",)),
    (PYPI, re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{20,}"), ("pypi-agei",)),
    (OPENAI, re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{32,}"), ("sk-",)),
    (URL_CREDENTIALS, re.compile(r"\b[a-z][a-z0-9+.\-]*://([^/\s:@\"']+:[^/\s@\"']+)@", _I),
     ("@",)),
)
# (gate, detector index) for every gate: one flat pass of `in` tests finds the detectors to
# run (a generator per detector cost more than the regexes it skipped).
_GATE_INDEX = tuple((gate, index) for index, (_, _, gates) in enumerate(_DETECTORS)
                    for gate in gates)

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
# Candidate tokens for the entropy check: base64(url)/hex-ish runs (ASCII only, so the
# digit and letter tests below can be plain character classes).
_CANDIDATE = re.compile(r"[A-Za-z0-9_+=/\-]{20,}")
# Long runs of token characters: where unknown high-entropy secrets hide (the prefilter
# matches them too). "_" and "-" split runs so snake_case keys (`activity_core_run_id`)
# and UUID groups stay short.
_TOKEN_RUN = r"[A-Za-z0-9+=]{16}"  # noqa: S105 (a pattern)
_LONG_RUN = re.compile(_TOKEN_RUN)
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9a-f]{32,}|[0-9A-F]{32,})(?![0-9A-Fa-f])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# One piece of an identifier: words (lower, Capitalised or CamelCase runs of 2+ letters,
# ACRONYMS) and short numbers. Random tokens interleave single letters and digits.
# The plain form, `(?:[A-Z]?[a-z]{2,}|[A-Z]{2,}(?![a-z])|\d{1,14})+|v\d+`, backtracks
# exponentially before rejecting a piece like `abaa111aba111...1b` (every split of every run
# is tried: 50 characters took 0.7 s). This form accepts the same pieces in linear time by
# taking whole runs (possessive): digits; lower-case of 2+; capitals of 2+ not followed by
# lower-case; or capitals (one, or 3+: an ACRONYM then a Capital) followed by lower-case 2+.
_WORD_PIECE = re.compile(r"(?:\d++|[a-z]{2,}+|[A-Z]{2,}+(?![a-z])"
                         r"|(?:[A-Z]{3,}+|[A-Z](?![A-Z]))[a-z]{2,}+)++|v\d+")
_PIECE_SPLIT = re.compile(r"[_+=/\-.]+")
# A key naming an identifier: `id`, `trace_id`, `request-ids`, `snapshotUid`, `runID`.
_ID_KEY = re.compile(r"(?:^|[^A-Za-z])(?:[iI][dD]s?|[uU]u?[iI][dD]|[uU][lL][iI][dD]"
                     r"|[gG][uU][iI][dD])$"
                     r"|[a-z](?:Id|ID|Ids|IDs|Uid|UID|Uuid|UUID|Ulid|ULID|Guid|GUID)$")
_SWITCHES = re.compile(r"[0-9](?=[A-Za-z])|[A-Za-z](?=[0-9])")  # letter-digit boundaries
_DIGEST_WORDS = re.compile(r"sha|digest|hash|checksum|commit|revision|etag|fingerprint|"
                           r"integrity|md5|\bgit\b", _I)
_TERMS_UP_TO = 256  # token lengths with a cached table of entropy terms


@lru_cache(maxsize=_TERMS_UP_TO)
def _entropy_terms(n: int) -> tuple[float, ...]:
    # terms[c] = c/n * log2(c/n), computed exactly as the direct formula does.
    return (0.0, *(c / n * math.log2(c / n) for c in range(1, n + 1)))


def _entropy(s: str) -> float:
    n = len(s)
    # str.count per distinct character runs in C; faster than Counter for short tokens.
    # Summed in the same order (set order) and from the same terms as the direct formula.
    if n <= _TERMS_UP_TO:
        return -sum(map(_entropy_terms(n).__getitem__, map(s.count, set(s))))
    return -sum(c / n * math.log2(c / n) for c in map(s.count, set(s)))


def _looks_like_words(token: str) -> bool:
    """Identifier-like runs (`ops-endpoint-verified`, `Api2ServiceCatalog`) are not secrets.

    A long piece that keeps switching between letters and digits (upper-case base32, say)
    is a token even when each of its runs would pass as a word.
    """
    return all(_WORD_PIECE.fullmatch(piece)
               and (len(piece) < 20 or len(_SWITCHES.findall(piece)) < 6)
               for piece in filter(None, _PIECE_SPLIT.split(token)))


def _high_entropy(text: str, context: str,
                  taken: list[tuple[int, int]]) -> Iterator[tuple[str, str]]:
    """High-entropy tokens of `text` not overlapping a span in `taken` (found earlier).

    None under a key naming an identifier (`trace_id`, `requestId`, `uuid`): a trace id is
    random hex by design. The named patterns (AKIA..., ghp_..., JWTs) still apply there.
    """
    if context and _ID_KEY.search(context):
        return
    for match in _CANDIDATE.finditer(text):
        token = match.group(0).strip("=")
        # The overlap test comes first: it is cheap, and a token another finding already
        # covers is never reported (entropy would be computed for nothing).
        start = text.find(token)
        if taken and _overlaps((start, start + len(token)), taken):
            continue
        if not _LONG_RUN.search(token) or _UUID.fullmatch(token):
            continue
        if not _DIGIT.search(token) or not _LETTER.search(token):
            continue
        if _HEX.fullmatch(token):
            # Commit ids and content digests are evidence, not secrets.
            before = f"{context} {text[max(0, match.start() - 24):match.start()]}"
            if len(token) >= 32 and _entropy(token) >= 3.0 and not _DIGEST_WORDS.search(before):
                yield HIGH_ENTROPY_HEX, token
            continue
        # A long hex run behind a prefix (`dop_v1_…`, `shpat_…`, `key-…`, a URL's user):
        # a hex secret, unless the prefix or the text before it names a digest.
        run = _HEX_RUN.search(token)
        if run and _entropy(run.group()) >= 3.0:
            before = f"{context} {text[max(0, match.start() - 24):match.start() + run.start()]}"
            if not _DIGEST_WORDS.search(before):
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


def scan_string(text: str, *, context: str = "", json_mode: bool) -> Iterator[tuple[str, str]]:
    """Yield (kind, secret) pairs for one string the prefilter flagged.

    `context` is the JSON key the string sits under (digest keys excuse hex); `json_mode`
    is True for JSON values (a URL query string is itself a finding there).
    """
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    # Detectors whose gate occurs, in report order.
    for index in sorted({index for gate, index in _GATE_INDEX if gate in lowered}):
        kind, pattern, _ = _DETECTORS[index]
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
    yield from _high_entropy(text, context, taken)


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)
