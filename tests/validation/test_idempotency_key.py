"""The one idempotency-key rule (ASM-14): built by one function, any run id works."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest

from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.stream.pipeline import DUPLICATE, check_stream
from ihub_conformance.validation import idempotency_key, validator_for

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus" / "v1"
EVENT = json.loads((CORPUS / "event/valid/backup-verified.json").read_text())
SEP = load_assumptions().get("idempotency.separator")


def _event(run: str, context: str = "railiance/postgres-main", key: str | None = None) -> dict:
    event = copy.deepcopy(EVENT)
    md = event["metadata"]
    md["activity_core_run_id"], md["context_key"] = run, context
    md["idempotency_key"] = key or idempotency_key(run, context, event["eventType"], SEP)
    return event


def test_the_key_joins_the_three_parts_with_the_registers_separator() -> None:
    assert idempotency_key("ac-7f3e", "railiance/x", "ops-backup-verified", ":") == (
        "ac-7f3e:railiance/x:ops-backup-verified")
    assert idempotency_key("r", "c", "t", "|") == "r|c|t"


@pytest.mark.parametrize("run", ["2026-06-27T02:00:00Z", "2026-06-27T02:00:00.123+02:00",
                                 "urn:run:42", "ac-7f3e"])
def test_any_run_id_works_iso_timestamps_included(run: str) -> None:
    assert validator_for("event").violations(_event(run)) == []
    progress = json.loads((CORPUS / "progress/valid/single-probe.json").read_text())
    progress[0]["activity_core_run_id"] = run
    progress[0]["idempotency_key"] = idempotency_key(
        run, progress[0]["context_key"], progress[0]["detail"]["activity_core_event_type"], SEP)
    assert validator_for("progress").violations(progress) == []


def test_a_wrong_key_with_a_timestamp_run_id_is_still_a_mismatch() -> None:
    event = _event("2026-06-27T02:00:00Z", key="2026-06-27T02:00:00Z:other:ops-backup-verified")
    found = validator_for("event").violations(event)
    assert [v.pointer for v in found] == ["/metadata/idempotency_key"]
    assert "mismatch" in found[0].reason


def test_the_progress_key_takes_the_activity_core_event_type_not_the_row_type() -> None:
    progress = json.loads((CORPUS / "progress/valid/single-probe.json").read_text())
    row = progress[0]
    row["idempotency_key"] = idempotency_key(row["activity_core_run_id"], row["context_key"],
                                             row["event_type"], SEP)
    assert [v.pointer for v in validator_for("progress").violations(progress)] == [
        "/0/idempotency_key"]


def test_two_events_with_equal_keys_are_duplicates_whatever_their_parts() -> None:
    # "a:b" + "c" and "a" + "b:c" give the same key: a consumer would drop the second.
    first, second = _event("2026-06-27T02", "00:00Z:x"), _event("2026-06-27T02:00:00Z", "x")
    assert first["metadata"]["idempotency_key"] == second["metadata"]["idempotency_key"]
    lines = [orjson.dumps(first) + b"\n", orjson.dumps(second) + b"\n"]
    found = list(check_stream(lines))
    assert [(f.line, f.kind) for f in found] == [(2, DUPLICATE)]
    lines[1] = orjson.dumps(_event("2026-06-27T02:00:01Z", "x")) + b"\n"
    assert list(check_stream(lines)) == []
