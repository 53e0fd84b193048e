"""Domain rules the schemas cannot express well, precomputed once per contract version.

Used by :mod:`ihub_conformance.validation.engine` only: the early-to-live alias reasons,
the idempotency key, mapping duplicates and the State Hub list order. Each rule here is
listed in its schema's `x-rules` (a plain JSON Schema validator does not check it).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ihub_conformance.contract.loader import Contract


class Violation(NamedTuple):
    """One reason a document breaks the contract, located by an RFC 6901 pointer.

    Immutable and ordered by (pointer, reason); a named tuple is ~2x cheaper to build than
    a frozen dataclass, and a bad event stream builds one per finding.
    """

    pointer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.reason}"


_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
# Token-like words, case-insensitively: matched against the lower-cased value, which for
# the ASCII text `_PLAIN` admits is the same test and ~8x faster than `re.IGNORECASE`.
_SECRETISH_LOWER = re.compile(r"bearer|token|secret|passw|eyj|akia|asia|gh[pousr]_|xox[abprs]-|key")


@functools.lru_cache(maxsize=4096)  # run ids, context keys and types repeat in a stream
def is_plain_name(value: str) -> bool:
    """A short name safe to echo in a message (never anything token-like)."""
    return bool(_PLAIN.match(value)) and not _SECRETISH_LOWER.search(value.lower())


def idempotency_key(run_id: str, context_key: str, event_type: str, separator: str) -> str:
    """The idempotency key of an event (ASM-14): the three parts verbatim, joined.

    The source fixes the parts ("activity_core_run_id + context_key + event_type"), not
    the join: `separator` is the register's `idempotency.separator`. The parts are taken
    as they are, so any run id works (an ISO timestamp with ':' too); nothing splits a key
    back into parts, and two events whose keys are equal are duplicates whatever their
    parts. The event type is the payload's `eventType` (a State Hub progress event's
    `detail.activity_core_event_type`, not its constant `event_type`). Every module that
    builds or checks a key calls this function.
    """
    return f"{run_id}{separator}{context_key}{separator}{event_type}"


@dataclass(frozen=True)
class Vocabulary:
    """The contract's vocabulary plus the precomputed reason for every special name."""

    version: str
    hub: str
    event_types: frozenset[str]
    widget_types: frozenset[str]
    policy_scopes: frozenset[str]
    separator: str
    deferred: frozenset[str] = frozenset()
    # event type -> widget types one of which must exist before it is sent (VOC-11: an
    # ordering precondition, never a restriction of the event to those widget types)
    event_widget_types: dict[str, frozenset[str]] = field(default_factory=dict)
    # scopes not seeded "unless the manifest is explicitly expanded to include" them (VOC-14)
    expandable: frozenset[str] = frozenset()
    # "compact" (ACS-06): the bound on a probe detail's encoding, from the schema's x-maxBytes
    probe_detail_max_bytes: int | None = None
    # the first-slice event types a mapping should cover (ACS-04, ASM-17)
    required_event_types: tuple[str, ...] = ()
    # name -> reason, for names the contract rejects with a specific explanation
    special: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_contract(cls, contract: Contract) -> Vocabulary:
        vocab = contract.vocabulary
        try:
            separator = str(contract.assumptions.get("idempotency.separator"))
        except (KeyError, TypeError):
            separator = ":"
        try:
            required = tuple(contract.assumptions.get("vocabulary.required_event_types"))
        except (KeyError, TypeError):
            required = ()
        return cls(
            version=contract.version,
            hub=str(vocab.get("hub", "ops-hub")),
            event_types=frozenset(vocab.get("eventTypes", ())),
            widget_types=frozenset(vocab.get("widgetTypes", ())),
            policy_scopes=frozenset(vocab.get("policyScopes", ())),
            separator=separator,
            deferred=frozenset(vocab.get("deferred", ())),
            event_widget_types={
                event: frozenset(types)
                for event, types in vocab.get("eventWidgetTypes", {}).items()
            },
            probe_detail_max_bytes=probe_detail_max_bytes(contract.schemas),
            expandable=frozenset(vocab.get("notSeeded", {}).get("policyScopes", ())),
            required_event_types=tuple(n for n in required if n in vocab.get("eventTypes", ())),
            special={**_other_version_reasons(contract), **_special_reasons(vocab)},
        )


_LABELS = {"eventTypes": "event type", "widgetTypes": "widget type", "policyScopes": "policy scope"}


def _other_version_reasons(contract: Contract) -> dict[str, str]:
    """Names another contract version declares: say which version to validate with."""
    from ihub_conformance.contract.loader import available_versions, load_contract

    own = contract.vocabulary
    reasons: dict[str, str] = {}
    for version in available_versions():
        if version == contract.version:
            continue
        other = load_contract(version).vocabulary
        for category, label in _LABELS.items():
            for name in other.get(category, ()):
                if name not in own.get(category, ()) and name not in reasons:
                    reasons[name] = (
                        f"unknown {label} {name!r} in contract {contract.version}: it is a "
                        f"contract {version} name (validate with --contract {version})"
                    )
    return reasons


def _special_reasons(vocab: dict[str, Any]) -> dict[str, str]:
    early = vocab.get("earlyProposal", {})
    live = {
        "eventTypes": set(vocab.get("eventTypes", ())),
        "widgetTypes": set(vocab.get("widgetTypes", ())),
        "policyScopes": set(vocab.get("policyScopes", ())),
    }
    labels = _LABELS
    aliases: dict[str, str] = vocab.get("aliases", {})
    notes: dict[str, str] = vocab.get("notes", {})
    deferred_note = vocab.get("deferredNote", "it stays on the State Hub fallback path")
    scopes = ", ".join(vocab.get("policyScopes", ()))
    reasons: dict[str, str] = {}
    for category, names in early.items():
        label = labels.get(category, "name")
        for name in names:
            if name in live.get(category, ()):
                continue  # kept unchanged by the live vocabulary
            if name in aliases:
                reasons[name] = f"early-proposal {label} {name!r}; use {aliases[name]!r}"
            elif name in vocab.get("deferred", ()):
                reasons[name] = f"deferred {label} {name!r}: {deferred_note}"
            elif name in vocab.get("notSeeded", {}).get("policyScopes", ()):
                reasons[name] = (
                    f"policy scope {name!r} is not seeded; use a declared scope: {scopes}"
                )
            elif name in notes:
                reasons[name] = (
                    f"early-proposal {label} {name!r} has no live replacement: {notes[name]}"
                )
            else:
                reasons[name] = (
                    f"early-proposal {label} {name!r} is not part of contract "
                    f"{vocab.get('contract')}"
                )
    return reasons


def checks_for(kind: str, vocab: Vocabulary) -> Callable[[Any], Sequence[Violation]]:
    """The domain check function for a document kind (a no-op for most resource kinds)."""
    if kind == "event":
        return _event_check(vocab)
    checks = {
        "mapping": _mapping_checks,
        "progress": _progress_checks,
        "progress-event": _progress_event_checks,
    }
    check = checks.get(kind)
    if check is None:
        return _no_checks
    return functools.partial(check, vocab=vocab)


_NONE: tuple[Violation, ...] = ()


def _no_checks(doc: Any) -> Sequence[Violation]:
    return _NONE


_violation = Violation


def _event_check(vocab: Vocabulary) -> Callable[[Any], Sequence[Violation]]:
    separator = vocab.separator

    def check(doc: Any) -> Sequence[Violation]:
        # Fast path: the common, correct event costs one string build.
        try:
            metadata = doc["metadata"]
            key = metadata["idempotency_key"]
            run = metadata["activity_core_run_id"]
            context = metadata["context_key"]
            event_type = doc["eventType"]
        except (KeyError, TypeError, IndexError):
            return _NONE
        if type(run) is str and type(context) is str and type(event_type) is str \
                and key == idempotency_key(run, context, event_type, separator):
            return _NONE
        return _key_mismatch("/metadata/idempotency_key", run, context, event_type, key, separator)

    return check


def _key_mismatch(
    pointer: str, run: Any, context: Any, event_type: Any, key: Any, separator: str
) -> list[Violation]:
    if not (isinstance(run, str) and isinstance(context, str) and isinstance(event_type, str)
            and isinstance(key, str)):
        return []
    expected = idempotency_key(run, context, event_type, separator)
    if key == expected:
        return []
    # Echo the expected key only when every part is a plain name: a secret put
    # into context_key must not come back out in a message or report.
    plain = is_plain_name(run) and is_plain_name(context) and is_plain_name(event_type)
    shown = expected if plain else idempotency_key("<run>", "<context>", "<type>", separator)
    return [
        _violation(
            pointer,
            f"idempotency key mismatch: expected {shown!r} "
            f"(activity_core_run_id{separator}context_key{separator}event type)",
        )
    ]


def _mapping_checks(doc: Any, vocab: Vocabulary) -> list[Violation]:
    # The hub of the mapping and of its widgets and aggregate duplicates are the schema's; a
    # route (event type, target, context key) named twice needs a comparison it cannot state.
    if not isinstance(doc, dict) or not isinstance(doc.get("mappings"), list):
        return []
    found: list[Violation] = []
    seen: dict[tuple[Any, ...], int] = {}
    for index, entry in enumerate(doc["mappings"]):
        if not isinstance(entry, dict):
            continue
        route = (entry.get("eventType"), entry.get("target"), entry.get("contextKey"))
        if all(isinstance(part, str | None) for part in route):
            if route in seen:
                found.append(
                    _violation(
                        f"/mappings/{index}",
                        "duplicate mapping: same eventType/target/contextKey as "
                        f"/mappings/{seen[route]}",
                    )
                )
            else:
                seen[route] = index
    return found


def advisories_for(kind: str, vocab: Vocabulary) -> Callable[[Any], Sequence[Violation]]:
    """Findings that are worth a warning but break no rule (a no-op for most kinds)."""
    checks = {"mapping": _mapping_advisories, "widget": _widget_advisories,
              "event": _event_advisories}
    check = checks.get(kind)
    return functools.partial(check, vocab=vocab) if check else _no_checks


OBSERVED_AT_SHOULD = ("activity-core should send its observed timestamp inside "
                      "metadata.attributes.observed_at (ACS-01, SHOULD; the hub sets "
                      "occurredAt itself)")


def _event_advisories(doc: Any, vocab: Vocabulary) -> list[Violation]:
    """ACS-01: an event without metadata.attributes.observed_at breaks no rule (SHOULD)."""
    node, pointer = doc, ""
    for name in ("metadata", "attributes", "observed_at"):
        if not isinstance(node, dict):
            return []  # a value of the wrong type: the schema says why
        pointer += f"/{name}"
        if name not in node:
            return [_violation(pointer, f"missing {name!r}: {OBSERVED_AT_SHOULD}")]
        node = node[name]
    return []


def _widget_advisories(doc: Any, vocab: Vocabulary) -> list[Violation]:
    if not isinstance(doc, dict) or doc.get("policyScope") is not None:
        return []
    return [_violation("/policyScope", "policyScope omitted: the hub defaults to 'internal' "
                                       "(WID-05), which the ops-hub manifest does not declare; "
                                       "name a declared scope")]


def _mapping_advisories(doc: Any, vocab: Vocabulary) -> list[Violation]:
    entries = doc.get("mappings") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return []
    entries = [e if isinstance(e, dict) else {} for e in entries]
    found: list[Violation] = []
    mapped = {e.get("eventType") for e in entries}
    missing = [name for name in vocab.required_event_types if name not in mapped]
    if missing:
        found.append(_violation(
            "/mappings", f"covers {len(vocab.required_event_types) - len(missing)} of the "
            f"{len(vocab.required_event_types)} first-slice event types; not mapped: "
            f"{', '.join(missing)} (ACS-04: a contract for every first-slice event type)"))
    widget_types = {e.get("widgetType") for e in entries}
    for index, entry in enumerate(entries):
        needs = vocab.event_widget_types.get(entry.get("eventType"))  # type: ignore[arg-type]
        if needs and not needs & widget_types:
            found.append(_violation(
                f"/mappings/{index}/eventType",
                f"{entry['eventType']} is sent only after a {' or '.join(sorted(needs))} "
                "widget exists (VOC-11); this mapping names none - make sure one exists in "
                "the target before the first event"))
    return found


def probe_detail_max_bytes(schemas: dict[str, Any]) -> int | None:
    """The one bound on a fallback probe detail (state-hub-progress ProbeDetail x-maxBytes)."""
    defs = schemas.get("state-hub-progress", {}).get("$defs", {})
    bound = defs.get("ProbeDetail", {}).get("x-maxBytes")
    return bound if isinstance(bound, int) and not isinstance(bound, bool) else None


def encoded_size(value: Any) -> int:
    """Bytes of the compact JSON encoding (no whitespace, UTF-8) the bound counts."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode("utf-8"))


def _progress_event_checks(doc: Any, vocab: Vocabulary, where: str = "") -> list[Violation]:
    if not isinstance(doc, dict):
        return []
    detail = doc.get("detail")
    event_type = detail.get("activity_core_event_type") if isinstance(detail, dict) else None
    found = _key_mismatch(
        f"{where}/idempotency_key",
        doc.get("activity_core_run_id"),
        doc.get("context_key"),
        event_type,
        doc.get("idempotency_key"),
        vocab.separator,
    )
    bound = vocab.probe_detail_max_bytes
    size = encoded_size(detail) if isinstance(detail, dict) and bound is not None else 0
    if bound is not None and size > bound:
        found.append(_violation(f"{where}/detail", f"not compact: {size} bytes "
                                f"of JSON, more than {bound} (x-maxBytes)"))
    return found


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _progress_checks(doc: Any, vocab: Vocabulary) -> list[Violation]:
    if not isinstance(doc, list):
        return []
    found: list[Violation] = []
    keys: dict[str, int] = {}
    ids: dict[Any, int] = {}
    previous: datetime | None = None
    for index, item in enumerate(doc):
        found.extend(_progress_event_checks(item, vocab, f"/{index}"))
        if not isinstance(item, dict):
            previous = None
            continue
        key = item.get("idempotency_key")
        if isinstance(key, str):
            if key in keys:
                found.append(
                    _violation(
                        f"/{index}/idempotency_key",
                        f"duplicate idempotency key (first at /{keys[key]})",
                    )
                )
            else:
                keys[key] = index
        ident = item.get("id")
        if isinstance(ident, int) and not isinstance(ident, bool):
            if ident in ids:
                found.append(_violation(f"/{index}/id", f"duplicate id (first at /{ids[ident]})"))
            else:
                ids[ident] = index
        created = _parse_time(item.get("created_at"))
        if created is not None and previous is not None and created > previous:
            found.append(
                _violation(
                    f"/{index}/created_at",
                    "order: newer than the entry before it; the list must be newest first",
                )
            )
        previous = created
    return found
