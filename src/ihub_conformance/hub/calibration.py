"""Calibrate against a live hub and write the override file ``run``/``gate`` accept.

``calibrate(...)`` runs the probes in order (auth first: every later read needs
the key in the hub's header), stops cleanly when the request budget is spent,
and ``write_override(...)`` writes each determined value with its evidence as a
comment, lists what stayed at the register default and why, lists the objects
written, checks that the register accepts the file, and never writes the key.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.documents import read_yaml
from ihub_conformance.errors import ConformanceError
from ihub_conformance.hub import calibrate as reads
from ihub_conformance.hub import calibrate_lists as lists
from ihub_conformance.hub import calibrate_writes as writes
from ihub_conformance.hub.client import redact_url
from ihub_conformance.hub.policy import BudgetExhausted, RequestPolicy
from ihub_conformance.hub.probe import Calibration, Prober

REJECTION_STATUSES = (400, 401, 403, 409, 413, 415, 422)  # 404/405 may be a router's page


def calibrate(prober: Prober, assumptions: Assumptions, *, run_id: str,
              state_hub: str | None = None, allow_writes: bool = False,
              event_key: Any = None) -> Calibration:
    """Probe the hub behind ``prober``; everything found, with evidence. ``event_key``
    builds an event's idempotency key from (run id, context key, event type)."""
    cal = Calibration(target=redact_url(prober.base_url), run_id=run_id, event_key=event_key)
    try:
        _probe_all(prober, cal, assumptions, state_hub, allow_writes)
    except BudgetExhausted as exc:
        cal.undetermined.setdefault("(remaining probes)", str(exc))
    finally:
        cal.requests = prober.sent
    return cal


def _probe_all(prober: Prober, cal: Calibration, assumptions: Assumptions,
               state_hub: str | None, allow_writes: bool) -> None:
    listed = reads.probe_auth(prober, cal)
    if listed is None:
        reads.record_errors(cal, _rejections(prober))
        return
    reads.probe_rate_limit(cal, listed)
    found = reads.probe_reads(prober, cal)
    widget_rows = reads.rows_of(listed.body, cal) or []
    identity = reads.probe_identity(prober, cal, found, widget_rows)
    reads.adapter_spec(cal, widget_rows, str(listed))
    reads.probe_openapi(prober, cal)
    widget_id = next((w.get("id") for w in widget_rows if isinstance(w, dict)), None)
    if allow_writes:
        widget_id = _writes(prober, cal, found, identity) or widget_id
    else:
        writes.explain_no_writes(cal)
    reads.probe_widget_reads(prober, cal, widget_id)
    registry_paths = [cal.value(f"paths.{n}") for n in ("event_types", "widget_types",
                                                         "policy_scopes", "hubs")]
    lists.probe_pagination(prober, cal, [reads.WIDGETS, reads.EVENTS,
                                         *[p for p in registry_paths if p]])
    reads.record_errors(cal, _rejections(prober))
    reads.probe_state_hub(prober, cal, state_hub)
    reads.keep_client_conventions(cal, assumptions)


def _rejections(prober: Prober) -> list[Any]:
    return [p for p in prober.history if p.status in REJECTION_STATUSES]


def _names(answer: Any, cal: Calibration) -> list[str]:
    rows = reads.rows_of(answer.body, cal) or [] if answer is not None else []
    return [r["name"] for r in rows if isinstance(r, dict) and isinstance(r.get("name"), str)]


def _writes(prober: Prober, cal: Calibration, found: dict[str, Any],
            identity: dict[str, Any]) -> str | None:
    """A widget and a few events of this run, for what only writes show."""
    manifest = identity["manifest"] or {}
    widget_types = manifest.get("widgetTypes") or _names(found.get("widget_types"), cal)
    event_types = manifest.get("eventTypes") or [writes.FIRST_EVENT_TYPE]
    hub_id = identity["hub_id"]
    if not hub_id or not widget_types:
        for key in writes.WRITE_KEYS:
            cal.unknown(key, "no hub id or widget type known to create a widget with")
        return None
    preferred = "ops-endpoint"
    widget_id = writes.create_widget(prober, cal, hub_id,
                                     preferred if preferred in widget_types else widget_types[0])
    if widget_id is None:
        return None
    event_type = writes.FIRST_EVENT_TYPE if writes.FIRST_EVENT_TYPE in event_types \
        else event_types[0]
    writes.probe_event_writes(prober, cal, widget_id, event_type)
    return widget_id


def given_values(contract: str, source: str) -> dict[str, Any]:
    """The dotted leaves an existing override file sets (checked by the register first)."""
    load_assumptions(contract, source)
    data = read_yaml(Path(source), syntax="YAML/JSON") or {}
    data = data.get("values", data) if isinstance(data, dict) else {}
    leaves: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict) and prefix + key not in _OPAQUE:
                walk(value, f"{prefix}{key}.")
            else:
                leaves[prefix + key] = value
    walk(data, "")
    return leaves


_OPAQUE = {"stand_ins.consumer", "stand_ins.manifest"}  # values that are documents


def keep_given(cal: Calibration, given: dict[str, Any], source: str | None) -> None:
    """Values the hub did not show, taken from the user's file (with that as evidence)."""
    for key in list(cal.undetermined):
        if key in given:
            cal.set(key, given[key], f"from {source}: the hub showed nothing here")


# -- the override file -------------------------------------------------------------------


def _nest(cal: Calibration) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted in sorted(cal.found):
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = dotted
    return tree


def _emit(cal: Calibration, node: dict[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    pad = "  " * indent
    for name, child in node.items():
        if isinstance(child, dict):
            lines += [f"{pad}{name}:", *_emit(cal, child, indent + 1)]
            continue
        finding = cal.found[child]
        lines.append(f"{pad}# {_comment(finding.evidence)}")
        lines.append(f"{pad}{name}: {json.dumps(finding.value, sort_keys=True)}")
    return lines


def _comment(text: str) -> str:
    return " ".join(text.split())


def render_override(cal: Calibration, assumptions: Assumptions) -> str:
    """The override file: values with evidence; undetermined, kept and written listed."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = [f"# ihub-conformance calibrate: {cal.target} at {stamp}, run {cal.run_id}, "
            f"{cal.requests} requests.",
            "# Pass it on: ihub-conformance run --target URL --assumptions THIS_FILE "
            "(gate: --assumptions THIS_FILE).",
            "# Each value below is what the hub showed; the comment above it is the evidence."]
    if cal.undetermined:
        head.append("# Undetermined (left at the register default; check, then edit):")
        head += [f"#   {key} (default {_default(assumptions, key)}): {_comment(why)}"
                 for key, why in cal.undetermined.items()]
    for key, why in cal.kept.items():
        head.append(f"# Kept: {key} = {_comment(why)}")
    head.append(f"# Objects written ({len(cal.written)}, none deleted):"
                if cal.written else "# Objects written: none (read-only).")
    head += [f"#   {w['kind']} {w['id']} {w['name']!r} ({w['request']} -> {w['status']})"
             for w in cal.written]
    return "\n".join([*head, "values:", *_emit(cal, _nest(cal), 1)]) + "\n"


def _default(assumptions: Assumptions, dotted: str) -> str:
    try:
        return json.dumps(assumptions.get(dotted))
    except (KeyError, TypeError):
        return "-"


def key_spellings(key: str) -> list[str]:
    """The key raw, JSON-escaped, URL-encoded and base64: none may reach a file."""
    raw = key.encode()
    return [s for s in {key, json.dumps(key)[1:-1], quote(key, safe=""),
                        base64.b64encode(raw).decode().rstrip("=")} if len(s) >= 4]


def write_override(text: str, out: Path, *, key: str | None, contract: str) -> None:
    """Write ``text`` to ``out`` atomically, once the register accepts it; never the key."""
    for spelling in key_spellings(key or ""):
        text = text.replace(spelling, "<REDACTED>")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            load_assumptions(contract, tmp)
        except ConformanceError as exc:
            raise ConformanceError(f"calibrate produced a file the register refuses "
                                   f"(a bug, please report): {exc}") from None
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# -- run/gate: does this hub speak the register's dialect at all? -----------------------


def _contradiction(assumptions: Assumptions, answer: Any) -> str | None:
    """What the first list answer shows against the register, as "ASM-nn: ..."."""
    values = assumptions.values
    auth = values["auth"]
    if answer.status in (401, 403) and auth.get("header"):
        shown = f"{auth['header']}: {(auth.get('scheme') or '') + ' '}<key>".replace("  ", " ")
        return f"{assumptions.asm_id('auth.header')}: GET {reads.WIDGETS} with `{shown}` " \
               f"answered {answer.status}"
    if not answer.ok() or answer.body is None:
        return None  # not a JSON answer: the preflight's matter, not a dialect's
    pag = values["pagination"]
    body = answer.body
    if pag["shape"] == "array" and not isinstance(body, list):
        return f"{assumptions.asm_id('pagination.shape')}: expected a bare JSON array, " \
               f"got {type(body).__name__}"
    if pag["shape"] == "envelope" and not (isinstance(body, dict) and
                                           isinstance(body.get(pag["data_key"]), list)):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        return f"{assumptions.asm_id('pagination.data_key')}: expected the rows under " \
               f"`{pag['data_key']}`, got {keys}"
    header = values["rate_limit"].get("limit_header")
    if header and header not in answer.headers:
        return f"{assumptions.asm_id('rate_limit.limit_header')}: no `{header}` header " \
               f"on GET {reads.WIDGETS}"
    return None


@dataclass(frozen=True)
class Contradiction:
    """What run/gate tell the user before they test a hub in another dialect."""

    line: str
    key_works_elsewhere: bool  # the key is refused as the register sends it, taken otherwise


def _key_elsewhere(prober: Prober) -> tuple[str, str] | None:
    for header, scheme in reads.AUTH_CANDIDATES:
        if (header, scheme) != prober.auth and prober.send(
                "GET", reads.WIDGETS, auth=(header, scheme)).ok():
            return header, scheme
    return None


def register_contradiction(base_url: str, key: str | None, assumptions: Assumptions, *,
                           timeout: float = 5.0, transport: Any = None,
                           policy: RequestPolicy | None = None) -> Contradiction | None:
    """Whether the hub's first answer contradicts the register (at most 1 + 8 requests:
    when the key is refused, whether another known header carries it), else None. A hub
    that cannot be asked is left to the caller's own reachability check."""
    prober = Prober(base_url, key, budget=1 + len(reads.AUTH_CANDIDATES), timeout=timeout,
                    transport=transport, policy=policy)
    auth = assumptions.values["auth"]
    prober.auth = (auth["header"], auth.get("scheme") or "") if auth.get("header") else None
    try:
        answer = prober.send("GET", reads.WIDGETS)
        found = _contradiction(assumptions, answer)
        elsewhere = _key_elsewhere(prober) if found and answer.status in (401, 403) \
            and key else None
    except ConformanceError:  # BudgetExhausted included
        return None
    finally:
        prober.close()
    if found is None:
        return None
    if elsewhere:
        found += f", but `{elsewhere[0]}: {(elsewhere[1] + ' ') if elsewhere[1] else ''}<key>`" \
                 " is accepted"
    return Contradiction(
        f"this hub contradicts the assumption register ({found}): run `ihub-conformance "
        f"calibrate --target {redact_url(base_url)} --out hub.yaml` and pass "
        "--assumptions hub.yaml", key_works_elsewhere=elsewhere is not None)
