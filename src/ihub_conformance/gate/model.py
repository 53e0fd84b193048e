"""The gate's result types: evidence lines, one outcome per check, the whole verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS = "pass"  # noqa: S105 - a status, not a password
FAIL = "fail"
BLOCKED = "blocked"

# Check ids as used by --require: the six gates, the State Hub fallback, vocabulary drift.
GATE_IDS = ("1", "2", "3", "4", "5", "6")
FALLBACK = "fallback"
DRIFT = "drift"
ALL_CHECKS = (*GATE_IDS, FALLBACK, DRIFT)
# Exactly the six gates (GATE-07): whether T06 may close on the fallback is an open question,
# so the fallback is reported beside them and required only on request (FBK-01).
DEFAULT_REQUIRED = GATE_IDS

TITLES = {
    "1": "COUNT(*) fix deployed: widget creation, list and rate-limit reads decode",
    "2": "Active ops-hub manifest declares the live vocabulary",
    "3": "Seed widgets named by the mapping exist",
    "4": "OPS_HUB_KEY stays outside Git and authenticates",
    "5": "Runtime config reaches activity-core",
    "6": "Controlled smoke: declared types accepted, undeclared rejected",
    FALLBACK: "State Hub fallback evidence (ops_inventory_probe)",
    DRIFT: "Vocabulary drift: live registries and manifest vs contract",
}


@dataclass
class Evidence:
    """One observation: what was checked, where, what was expected, what was seen."""

    what: str
    where: str
    expected: str
    actual: str
    ok: bool

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "where": self.where, "expected": self.expected,
                "actual": self.actual, "ok": self.ok}


@dataclass
class CheckOutcome:
    """The verdict of one gate (or of the fallback / drift check) with its evidence."""

    id: str
    status: str = PASS
    summary: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    required: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES[self.id]

    @property
    def name(self) -> str:
        return f"gate {self.id}" if self.id in GATE_IDS else self.id

    def ok(self, what: str, where: str, expected: str, actual: str) -> None:
        self.evidence.append(Evidence(what, where, expected, actual, True))

    def fail(self, what: str, where: str, expected: str, actual: str) -> None:
        self.evidence.append(Evidence(what, where, expected, actual, False))

    @property
    def failures(self) -> list[Evidence]:
        return [item for item in self.evidence if not item.ok]

    def block(self, reason: str) -> CheckOutcome:
        self.status = BLOCKED
        self.summary = reason
        return self

    def settle(self, passed: str, failed: str | None = None) -> CheckOutcome:
        """Set status from the evidence unless already blocked; a summary per case.

        A check that examined nothing (no evidence either way) is blocked, never a pass.
        """
        if self.status == BLOCKED:
            return self
        if not self.evidence:
            return self.block("examined nothing: no evidence was gathered, so nothing is proven")
        bad = self.failures
        if bad:
            self.status = FAIL
            self.summary = failed or f"{len(bad)} defect(s): " + "; ".join(
                item.what for item in bad[:3]) + (" ..." if len(bad) > 3 else "")
        else:
            self.status = PASS
            self.summary = passed
        return self

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "name": self.name, "title": self.title, "status": self.status,
            "required": self.required, "summary": self.summary,
            "evidence": [item.to_json() for item in self.evidence], "notes": list(self.notes),
        }
        # a check cut short before it ran (unreachable, budget spent) verified none
        body.update({"requirements": [], **self.details})
        return body


@dataclass
class WriteLog:
    """Every write the gate makes against the hub, tagged with the run id and counted."""

    run_id: str
    widgets: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    stored_by_mistake: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "widgetsCreated": len(self.widgets),
                "eventsCreated": len(self.events), "rejectedAttempts": len(self.rejected),
                "storedByMistake": len(self.stored_by_mistake),
                "widgetIds": list(self.widgets), "eventIds": list(self.events)}
