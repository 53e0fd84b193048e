"""Cassettes: where they live, what contract they belong to, and how they are scrubbed.

Record mode writes every request the suite makes through vcrpy (pytest-recording
for per-test cassettes, one session cassette for session-scoped fixtures).
Before anything is written, the API key (and the unbound consumer's key) is
replaced by a placeholder wherever it occurs: headers, URL, request body,
response headers and body. Cookies are dropped and credential-looking query
parameters blanked. The host is replaced by a fixed placeholder, so a re-record
does not churn on the port of the reference hub, and a real deployment's URL
does not end up in the repository.

Replay is deterministic because record and replay use a fixed run id and a fixed
clock (see hub_session.py): the requests of a replay are byte-for-byte those of
the recording, and the ids the hub handed out come back from the cassette.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ihub_conformance._paths import cassettes_dir
from ihub_conformance.errors import ConformanceError
from ihub_conformance.secrets.scrub import Scrubber

REDACTED = "<REDACTED>"
REDACTED_UNBOUND = "<REDACTED-UNBOUND>"
# Every recorded URL points here, whatever host was recorded from.
PLACEHOLDER_ORIGIN = "http://ihub.invalid"
META_FILE = "cassette-meta.json"
SESSION_CASSETTE = "_session.yaml"
# A recording's run id is rewritten to this, and replay runs with it, so the
# requests of both are identical while each recording still writes unique names.
RECORDING_RUN_ID = "recorded-run"
# ... and this clock (metadata.attributes.observed_at and friends).
RECORDING_CLOCK = "2026-06-27T09:00:00Z"
MATCH_ON = ("method", "path", "query", "body", "ihub_auth")

_CREDENTIAL_PARAM = re.compile(
    r"(key|token|secret|passw|auth|signature|^sig$|credential|session)", re.IGNORECASE
)
_DROPPED_HEADERS = frozenset({"cookie", "set-cookie"})


def default_cassette_root() -> Path:
    """fixtures/cassettes/ of the checkout, else the cassettes shipped in the package.

    Recording into the installed package would write into site-packages: a run
    from a wheel records into ``--cassette-dir`` instead (checked by the runner).
    """
    return cassettes_dir()


def cassette_dir(contract: str, override: str | Path | None = None) -> Path:
    """The cassette directory of a contract version: fixtures/cassettes/<version>/."""
    if override:
        return Path(override)
    return default_cassette_root() / contract


@dataclass(frozen=True)
class CassetteMeta:
    contract: str
    recorded_from: str
    recorded_at: str
    unbound_key: bool
    allow_writes: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "recorded_from": self.recorded_from,
            "recorded_at": self.recorded_at,
            "unbound_key": self.unbound_key,
            "allow_writes": self.allow_writes,
            "run_id": RECORDING_RUN_ID,
        }


def write_meta(directory: Path, *, contract: str, recorded_from: str, unbound_key: bool,
               allow_writes: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    meta = CassetteMeta(
        contract=contract,
        recorded_from=recorded_from,
        recorded_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        unbound_key=unbound_key,
        allow_writes=allow_writes,
    )
    path = directory / META_FILE
    path.write_text(json.dumps(meta.as_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def read_meta(directory: Path, contract: str) -> CassetteMeta:
    """The cassettes' metadata; a missing file or another contract version is refused."""
    path = directory / META_FILE
    if not path.is_file():
        raise ConformanceError(
            f"{path}: no cassettes recorded for contract {contract} "
            "(record them with `ihub-conformance run --record`)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConformanceError(f"{path}: unreadable cassette metadata ({exc})") from None
    recorded = str(data.get("contract"))
    if recorded != contract:
        raise ConformanceError(
            f"{path}: cassettes were recorded for contract {recorded}, this run checks contract "
            f"{contract}; re-record them with `ihub-conformance run --record --contract {contract}`"
        )
    return CassetteMeta(
        contract=recorded,
        recorded_from=str(data.get("recorded_from", "unknown")),
        recorded_at=str(data.get("recorded_at", "")),
        unbound_key=bool(data.get("unbound_key", False)),
        allow_writes=bool(data.get("allow_writes", False)),
    )


# -- scrubbing ---------------------------------------------------------------------------


def _scrubber(key: str | None, unbound_key: str | None, run_id: str | None) -> Scrubber:
    """Every spelling (secrets.scrub) of each key, and of the run id, replaced by its mark."""
    marks = {value: mark for value, mark in ((run_id, RECORDING_RUN_ID),
                                             (unbound_key, REDACTED_UNBOUND), (key, REDACTED))
             if value}
    return Scrubber(marks)


def _scrub_body(body: Any, scrubber: Scrubber) -> Any:
    if isinstance(body, bytes):
        return scrubber.data(body)
    if isinstance(body, str):
        return scrubber.text(body)
    return body


def _scrub_url(url: str, scrubber: Scrubber) -> str:
    parts = urlsplit(scrubber.text(url))
    query = [
        (name, REDACTED if _CREDENTIAL_PARAM.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    origin = urlsplit(PLACEHOLDER_ORIGIN)
    return urlunsplit((origin.scheme, origin.netloc, parts.path, urlencode(query), ""))


def request_scrubber(key: str | None, unbound_key: str | None,
                     run_id: str | None = None) -> Callable[[Any], Any]:
    """A vcrpy before_record_request: the request with every credential replaced."""
    scrubber = _scrubber(key, unbound_key, run_id)

    def scrub(request: Any) -> Any:
        request.uri = _scrub_url(request.uri, scrubber)
        for name in list(request.headers):
            if name.lower() in _DROPPED_HEADERS:
                del request.headers[name]
            elif name.lower() == "host":
                request.headers[name] = urlsplit(PLACEHOLDER_ORIGIN).netloc
            else:
                request.headers[name] = scrubber.text(str(request.headers[name]))
        request.body = _scrub_body(request.body, scrubber)
        return request

    return scrub


def response_scrubber(key: str | None, unbound_key: str | None,
                      run_id: str | None = None) -> Callable[[dict], dict]:
    """A vcrpy before_record_response: headers and body with every credential replaced."""
    scrubber = _scrubber(key, unbound_key, run_id)

    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers") or {}
        for name in list(headers):
            if name.lower() in _DROPPED_HEADERS:
                del headers[name]
                continue
            values = headers[name]
            if isinstance(values, list):
                headers[name] = [scrubber.text(str(v)) for v in values]
            else:
                headers[name] = scrubber.text(str(values))
        body = response.get("body") or {}
        if "string" in body:
            body["string"] = _scrub_body(body["string"], scrubber)
            # Replacements change the length; keep the header honest for replay.
            for name in list(headers):
                if name.lower() == "content-length":
                    raw = body["string"] or b""
                    size = len(raw.encode() if isinstance(raw, str) else raw)
                    headers[name] = [str(size)]
        return response

    return scrub


def auth_matcher_for(header: str | None) -> Callable[[Any, Any], None]:
    """vcrpy matcher: both requests carry the same (scrubbed) credential in the register's
    auth header (ASM-01), or none. Without it a keyless and a keyed GET of the same URL
    would be interchangeable. A dialect without a key (header None) matches anything."""

    def matcher(r1: Any, r2: Any) -> None:
        if header:
            assert r1.headers.get(header) == r2.headers.get(header), f"different {header}"

    return matcher


auth_matcher = auth_matcher_for("Authorization")  # the default register's header


def vcr_options(
    *, mode: str, key: str | None, unbound_key: str | None, run_id: str | None
) -> dict[str, Any]:
    """Keyword arguments for VCR.use_cassette in record or replay mode."""
    return {
        "record_mode": "all" if mode == "record" else "none",
        "match_on": MATCH_ON,
        "before_record_request": request_scrubber(key, unbound_key, run_id),
        "before_record_response": response_scrubber(key, unbound_key, run_id),
        "decode_compressed_response": True,
        # A replayed request must find its own recording, in order; a repeat is a
        # different interaction (list before / list after a rejected POST).
        "allow_playback_repeats": False,
    }


def make_vcr(directory: Path, auth_header: str | None = "Authorization") -> Any:
    """A VCR instance for cassettes under ``directory`` with the project's matchers."""
    import vcr

    instance = vcr.VCR(cassette_library_dir=str(directory))
    instance.register_matcher("ihub_auth", auth_matcher_for(auth_header))
    return instance


def cassette_files(directory: Path) -> Iterable[Path]:
    return sorted(directory.rglob("*.yaml"))
