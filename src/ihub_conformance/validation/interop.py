"""Cross-implementation agreement, Bowtie-style: plain validators against the tool.

Every corpus document of every contract version (plus each `x-rules` example) goes
through python-jsonschema, jsonschema-rs and Ajv with nothing but the contract's schemas.
Each must give the tool's verdict, except on a document whose only defects are rules
the schema lists in `x-rules` as code-only: a plain validator accepts it, and the table
names the rule. check-jsonschema's metaschema check runs over every schema file.

`nox -s interop` runs ``python -m ihub_conformance.validation.interop --node-modules DIR``
(Ajv and ajv-formats installed there); exit 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from ihub_conformance._paths import checkout_root, contracts_dir
from ihub_conformance.contract.loader import (
    Contract,
    available_versions,
    load_contract,
    refuse_retrieval,
)
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from ihub_conformance.validation.engine import validator_for
from ihub_conformance.validation.rules import Violation

# document kind -> the schema file whose root a consumer validates it with
ROOT_SCHEMAS = {"mapping": "widget-mapping", "event": "interaction-event",
                "manifest": "manifest", "widget": "widget", "progress": "state-hub-progress"}
DEADLINE = 300  # seconds for each external validator run


@dataclass(frozen=True)
class Case:
    """One document, the contract version and kind it is validated as, and its name."""

    version: str
    kind: str
    name: str
    document: Any


@dataclass(frozen=True)
class ToolVerdict:
    valid: bool
    code_only: tuple[str, ...] = ()  # the listed rules that alone refuse it


@dataclass
class Tally:
    agreed: int = 0
    disagreed: list[str] = field(default_factory=list)
    code_only: dict[str, int] = field(default_factory=dict)


def document_rules(contract: Contract, kind: str) -> list[dict[str, Any]]:
    """The `x-rules` of a kind's root schema that concern one document."""
    rules = contract.schemas[ROOT_SCHEMAS[kind]].get("x-rules", [])
    return [rule for rule in rules if rule.get("scope") != "cross-document"]


def listed_rule(violation: Violation, rules: Sequence[dict[str, Any]]) -> str | None:
    """The id of the listed code-only rule a violation reports, or None."""
    for rule in rules:
        where = re.escape(rule["pointer"]).replace(r"\*", "[0-9]+") + "$"
        if re.search(where, violation.pointer) and rule["reasonContains"] in violation.reason:
            return str(rule["id"])
    return None


def cases(corpus: Path) -> list[Case]:
    """Every corpus document and every x-rules example, in a stable order."""
    found = []
    for version in available_versions():
        contract = load_contract(version)
        for kind in ROOT_SCHEMAS:
            for path in sorted((corpus / version / kind).glob("*/*.json")):
                found.append(Case(version, kind, str(path.relative_to(corpus)),
                                  json.loads(path.read_text("utf-8"))))
            for rule in document_rules(contract, kind):
                found.append(Case(version, kind, f"{version}/{kind}/x-rules/{rule['id']}",
                                  rule["example"]))
    return found


def tool_verdict(case: Case) -> ToolVerdict:
    validator = validator_for(case.kind, case.version)
    if validator.is_valid(case.document):
        return ToolVerdict(True)
    if not validator.schema_is_valid(case.document):
        return ToolVerdict(False)
    rules = document_rules(load_contract(case.version), case.kind)
    named = [listed_rule(v, rules) for v in validator.violations(case.document)]
    if named and all(named):
        return ToolVerdict(False, tuple(sorted(set(filter(None, named)))))
    return ToolVerdict(False)  # an unlisted code rule: a plain validator will disagree


def python_jsonschema(batch: Sequence[Case]) -> list[bool]:
    from jsonschema import Draft202012Validator

    compiled: dict[tuple[str, str], Any] = {}
    for case in batch:
        if (case.version, case.kind) not in compiled:
            contract = load_contract(case.version)
            compiled[case.version, case.kind] = Draft202012Validator(
                contract.schemas[ROOT_SCHEMAS[case.kind]], registry=contract.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [compiled[case.version, case.kind].is_valid(case.document) for case in batch]


def jsonschema_rs_plain(batch: Sequence[Case]) -> list[bool]:
    compiled: dict[tuple[str, str], Any] = {}
    for case in batch:
        if (case.version, case.kind) not in compiled:
            contract = load_contract(case.version)
            registry = jsonschema_rs.Registry(
                [(s["$id"], s) for s in contract.schemas.values()], retriever=refuse_retrieval)
            compiled[case.version, case.kind] = jsonschema_rs.validator_for(
                contract.schemas[ROOT_SCHEMAS[case.kind]], registry=registry,
                validate_formats=True, retriever=refuse_retrieval)
    return [compiled[case.version, case.kind].is_valid(case.document) for case in batch]


# Ajv with its default strictSchema: the contract's `x-` annotations are declared as keywords.
_AJV = r"""
const Ajv2020 = require("ajv/dist/2020"), addFormats = require("ajv-formats");
const {schemas, cases, roots} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const validators = {};
for (const [version, list] of Object.entries(schemas)) {
  const ajv = new Ajv2020({strictTypes: false});
  addFormats(ajv);
  const annotations = new Set();  // every x- keyword the contract uses, whatever it is
  JSON.stringify(list, (key, value) => (key.startsWith("x-") && annotations.add(key), value));
  ajv.addVocabulary([...annotations]);
  for (const schema of list) ajv.addSchema(schema);
  validators[version] = ajv;
}
const out = cases.map(([version, kind, doc]) =>
  validators[version].getSchema(roots[version][kind])(doc));
process.stdout.write(JSON.stringify(out));
"""


def ajv(batch: Sequence[Case], node_modules: Path) -> list[bool]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: Ajv cannot run")
    versions = sorted({case.version for case in batch})
    payload = {
        "schemas": {v: list(load_contract(v).schemas.values()) for v in versions},
        "roots": {v: {k: load_contract(v).schema_id(s) for k, s in ROOT_SCHEMAS.items()}
                  for v in versions},
        "cases": [[case.version, case.kind, case.document] for case in batch],
    }
    done = subprocess.run([node, "-e", _AJV], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=DEADLINE, check=False,
                          env={"NODE_PATH": str(node_modules), "PATH": ""})
    if done.returncode != 0:
        raise RuntimeError(f"Ajv failed: {done.stderr.strip()[-2000:]}")
    return [bool(v) for v in json.loads(done.stdout)]


def schema_files() -> list[Path]:
    return [path for version in available_versions()
            for path in sorted((contracts_dir() / version).glob("*.schema.json"))]


def check_jsonschema_metaschema(paths: Sequence[Path]) -> dict[str, bool]:
    """check-jsonschema --check-metaschema per schema file (True: accepted)."""
    tool = shutil.which("check-jsonschema") or str(Path(sys.executable).parent /
                                                   "check-jsonschema")
    verdicts = {}
    for path in paths:
        done = subprocess.run([tool, "--check-metaschema", str(path)], capture_output=True,
                              text=True, timeout=DEADLINE, check=False)
        verdicts[str(path.relative_to(contracts_dir()))] = done.returncode == 0
    return verdicts


def tally(batch: Sequence[Case], expected: Sequence[ToolVerdict],
          verdicts: Sequence[bool]) -> Tally:
    """How one implementation's verdicts compare with the tool's."""
    result = Tally()
    for case, tool, plain in zip(batch, expected, verdicts, strict=True):
        wanted = tool.valid or bool(tool.code_only)
        if plain != wanted:
            said = "valid" if plain else "invalid"
            result.disagreed.append(f"{case.name}: says {said}, the tool "
                                    f"{'valid' if tool.valid else 'invalid'}")
            continue
        result.agreed += 1
        for rule in tool.code_only:
            result.code_only[rule] = result.code_only.get(rule, 0) + 1
    return result


def render(tallies: dict[str, Tally], metaschema: dict[str, bool], batch: Sequence[Case],
           expected: Sequence[ToolVerdict]) -> str:
    lines = [f"interop: {len(batch)} documents, {len(metaschema)} schemas", ""]
    lines += [f"code-only: {case.name} ({', '.join(tool.code_only)}): valid for a plain "
              "validator, refused by the tool" for case, tool in zip(batch, expected, strict=True)
              if tool.code_only]
    lines += ["",
             f"{'implementation':<26}{'agreed':>8}{'disagreed':>11}  code-only (named)",
             "-" * 78]
    for name, result in tallies.items():
        named = ", ".join(f"{rule} x{n}" for rule, n in sorted(result.code_only.items()))
        lines.append(f"{name:<26}{result.agreed:>8}{len(result.disagreed):>11}  {named or '-'}")
    failed = [name for name, ok in metaschema.items() if not ok]
    lines.append(f"{'check-jsonschema metaschema':<26}{len(metaschema) - len(failed):>8}"
                 f"{len(failed):>11}  (schemas)")
    for name, result in tallies.items():
        lines += [f"DISAGREE {name}: {line}" for line in result.disagreed]
    lines += [f"DISAGREE check-jsonschema: {name} fails --check-metaschema" for name in failed]
    return "\n".join(lines)


def run(corpus: Path, node_modules: Path) -> tuple[str, bool]:
    batch = cases(corpus)
    expected = [tool_verdict(case) for case in batch]
    implementations: dict[str, Callable[[Sequence[Case]], list[bool]]] = {
        "python-jsonschema": python_jsonschema,
        "jsonschema-rs (plain)": jsonschema_rs_plain,
        "ajv (2020, ajv-formats)": lambda b: ajv(b, node_modules),
    }
    tallies = {name: tally(batch, expected, check(batch))
               for name, check in implementations.items()}
    metaschema = check_jsonschema_metaschema(schema_files())
    ok = not any(t.disagreed for t in tallies.values()) and all(metaschema.values())
    return render(tallies, metaschema, batch, expected), ok


_SNIPPET = re.compile(r"^```(js|python)\n(.*?)^```", re.S | re.M)


def readme_snippets(readme: Path, node_modules: Path) -> list[str]:
    """Run every ```js and ```python block of the consumer's page; the failures."""
    blocks = _SNIPPET.findall(readme.read_text("utf-8"))
    if not blocks:
        return [f"{readme}: no js or python snippet to run"]
    problems = []
    for number, (language, code) in enumerate(blocks, 1):
        node = shutil.which("node") or "node"
        command = [node, "-e", code] if language == "js" else [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=checkout_root(), capture_output=True, text=True,
                              timeout=DEADLINE, check=False,
                              env={"NODE_PATH": str(node_modules.resolve()), "PATH": ""})
        if done.returncode != 0:
            problems.append(f"{readme}: snippet {number} ({language}) failed: "
                            f"{done.stderr.strip()[-500:]}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, required=True,
                        help="a node_modules directory holding ajv and ajv-formats")
    parser.add_argument("--readme", type=Path, default=contracts_dir() / "README.md",
                        help="the consumer's page whose snippets must run")
    parser.add_argument("--corpus", type=Path,
                        default=checkout_root() / "fixtures" / "corpus")
    args = parser.parse_args(argv)
    if not (args.node_modules / "ajv").is_dir() or not args.corpus.is_dir():
        print(f"interop: need {args.node_modules}/ajv and the corpus {args.corpus}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        table, ok = run(args.corpus, args.node_modules)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"interop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    snippets = readme_snippets(args.readme, args.node_modules)
    print(table)
    print(f"README snippets: {'ok' if not snippets else 'FAILED'}")
    for problem in snippets:
        print(f"DISAGREE {problem}")
    return EXIT_OK if ok and not snippets else EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
