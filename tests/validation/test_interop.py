"""The interop session's logic: it sees a disagreement, names code-only rules, fails then.

The full run (Ajv from npm, check-jsonschema over every schema) is `nox -s interop`, which
.ci/run runs; here the parts are proven able to fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.validation import interop
from ihub_conformance.validation.interop import Case, ToolVerdict, tally, tool_verdict
from ihub_conformance.validation.rules import Violation

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"


def _event() -> dict:
    return json.loads((CORPUS / "v1/event/valid/service-discovered.json").read_text())


def test_a_key_mismatch_alone_is_named_code_only() -> None:
    doc = _event()
    doc["metadata"]["idempotency_key"] = "other:key:x"
    assert tool_verdict(Case("v1", "event", "k", doc)) == ToolVerdict(False, ("ACS-07-KEY",))


def test_a_schema_defect_is_not_code_only() -> None:
    doc = _event()
    doc["metadata"]["idempotency_key"] = "other:key:x"
    doc["eventType"] = "ops-service-observed"
    assert tool_verdict(Case("v1", "event", "k", doc)) == ToolVerdict(False)


def test_an_unlisted_code_rule_is_not_excused(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the listing gone, a plain validator's "valid" is a disagreement again.
    monkeypatch.setattr(interop, "document_rules", lambda contract, kind: [])
    doc = _event()
    doc["metadata"]["idempotency_key"] = "other:key:x"
    case = Case("v1", "event", "k", doc)
    result = tally([case], [tool_verdict(case)], [True])
    assert result.disagreed and result.agreed == 0


def test_tally_counts_agreement_and_disagreement() -> None:
    cases = [Case("v1", "event", name, {}) for name in "abcd"]
    expected = [ToolVerdict(True), ToolVerdict(False), ToolVerdict(False, ("R",)),
                ToolVerdict(False)]
    result = tally(cases, expected, [True, False, True, True])
    assert result.agreed == 3
    assert result.code_only == {"R": 1}
    assert result.disagreed == ["d: says valid, the tool invalid"]


def test_listed_rules_match_pointer_and_reason() -> None:
    rules = interop.document_rules(load_contract("v1"), "progress")
    assert interop.listed_rule(Violation("/3/idempotency_key", "duplicate idempotency key"),
                               rules) == "FBK-DUPLICATE-KEY"
    assert interop.listed_rule(Violation("/3/idempotency_key", "other"), rules) is None
    assert interop.listed_rule(Violation("/3/context_key", "duplicate id"), rules) is None


def test_plain_python_validators_agree_with_the_tool_on_the_corpus() -> None:
    batch = interop.cases(CORPUS)
    expected = [tool_verdict(case) for case in batch]
    assert len(batch) > 150
    for check in (interop.python_jsonschema, interop.jsonschema_rs_plain):
        result = tally(batch, expected, check(batch))
        assert not result.disagreed, result.disagreed[:5]
        assert result.code_only  # the corpus holds documents only code-only rules refuse


def test_the_run_fails_when_an_implementation_disagrees(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def flip(batch):  # a validator that reads one document the other way
        verdicts = interop.jsonschema_rs_plain(batch)
        verdicts[0] = not verdicts[0]
        return verdicts

    corpus = tmp_path / "corpus"
    (corpus / "v1/event/valid").mkdir(parents=True)
    (corpus / "v1/event/valid/one.json").write_text(json.dumps(_event()))
    monkeypatch.setattr(interop, "python_jsonschema", flip)
    monkeypatch.setattr(interop, "ajv", lambda batch, _modules: interop.jsonschema_rs_plain(
        batch))
    monkeypatch.setattr(interop, "check_jsonschema_metaschema", lambda paths: {"x": True})
    table, ok = interop.run(corpus, tmp_path)
    assert not ok
    assert "DISAGREE python-jsonschema" in table


def test_ajv_reads_the_contract_like_the_tool_when_node_is_here() -> None:
    modules = Path(__file__).resolve().parents[2] / ".nox" / "interop-node" / "node_modules"
    if not (modules / "ajv").is_dir():
        pytest.skip("Ajv is installed by `nox -s interop` (run by .ci/run)")
    doc = _event()
    bad = copy.deepcopy(doc)
    bad["widgetId"] += "\n"
    cases = [Case("v1", "event", "ok", doc), Case("v1", "event", "bad", bad)]
    assert interop.ajv(cases, modules) == [True, False]


def test_a_failing_readme_snippet_is_reported(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("```python\nraise SystemExit(3)\n```\n\n```python\nprint('ok')\n```\n")
    problems = interop.readme_snippets(readme, tmp_path)
    assert len(problems) == 1 and "snippet 1 (python)" in problems[0]
    readme.write_text("no code here\n")
    assert interop.readme_snippets(readme, tmp_path)  # a page with nothing to run fails too
