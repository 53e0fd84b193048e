"""`ihub-conformance diff OLD NEW`: every contract change, classified by whom it breaks.

Also the CI guard (``--against-base``): contracts/ compared with the merge base; a
breaking change needs a new version directory and its changelog section.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ihub_conformance._paths import checkout_root, contracts_dir
from ihub_conformance.contract import changelog as log
from ihub_conformance.contract.evolution import (
    BREAKING,
    CONSUMER,
    Change,
    ContractTree,
    compare_contracts,
    count_by_class,
    is_breaking,
    open_tree,
)
from ihub_conformance.contract.revisions import extract_contracts, merge_base, repository_root
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK, InputError
from ihub_conformance.validation.witness import Witness, find_witness

HELP = "Compare two contract versions or directories; classify every change by whom it breaks."

_VERSION = re.compile(r"^v[0-9]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", nargs="?", metavar="OLD",
                        help="contract version (v0, v1) or contract directory")
    parser.add_argument("new", nargs="?", metavar="NEW",
                        help="contract version or contract directory")
    parser.add_argument("--git-rev", metavar="REV",
                        help="read OLD from contracts/ at this git revision (e.g. "
                        "`diff v1 v1 --git-rev main`)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--changelog", choices=("check", "write"),
                        help="check or rewrite the generated OLD -> NEW block of the "
                        "CHANGELOG.md beside NEW; the exit code then says whether the block "
                        "is current (check: 1 when not)")
    parser.add_argument("--against-base", nargs="?", const="", metavar="REV",
                        help="CI guard: compare contracts/ with REV (default: the merge base "
                        "with main); exit 1 on a breaking change without a new version "
                        "directory and changelog section, or a stale changelog block")
    parser.add_argument("--repo", metavar="DIR",
                        help="repository root for --git-rev / --against-base "
                        "(default: this checkout)")


def main(args: argparse.Namespace) -> int:
    if args.against_base is not None:
        return _against_base(args)
    if not (args.old and args.new):
        raise InputError("diff", "name OLD and NEW (versions such as v0 v1, or directories)",
                         field="OLD NEW")
    with _trees(args) as (old, new):
        changes = compare_contracts(old, new)
        witnesses = _witnesses(old, new, changes)
        _print(old, new, changes, witnesses, args.format)
        if args.changelog:
            return _changelog(args.changelog, old.label, new, changes)
    return EXIT_FINDINGS if is_breaking(changes) else EXIT_OK


def _repo(args: argparse.Namespace) -> Path:
    start = Path(args.repo) if args.repo else (checkout_root() or Path.cwd())
    root = repository_root(start)
    if root is None:
        raise InputError(str(start), "not inside a git repository", field="--repo")
    return root


@contextmanager
def _trees(args: argparse.Namespace) -> Iterator[tuple[ContractTree, ContractTree]]:
    new = _local_tree(args.new)
    if not args.git_rev:
        yield _local_tree(args.old), new
        return
    with tempfile.TemporaryDirectory(prefix="ihub-diff-") as tmp:
        extracted = extract_contracts(_repo(args), args.git_rev, Path(tmp))
        name = args.old if _VERSION.match(args.old) else Path(args.old).name
        if not (extracted / name).is_dir():
            raise InputError(f"contracts/{name}", f"no such contract version at {args.git_rev}",
                             field="OLD")
        yield open_tree(extracted / name, f"{name}@{args.git_rev}"), new


def _local_tree(spec: str) -> ContractTree:
    if _VERSION.match(spec) and (contracts_dir() / spec).is_dir():
        return open_tree(contracts_dir() / spec, spec)
    path = Path(spec)
    if path.is_dir():
        return open_tree(path)
    versions = sorted(p.name for p in contracts_dir().iterdir() if _VERSION.match(p.name))
    raise InputError(spec, "neither a contract version (available: "
                     f"{', '.join(versions) or 'none'}) nor a contract directory")


def _witnesses(old: ContractTree, new: ContractTree,
               changes: Sequence[Change]) -> dict[int, Witness]:
    found: dict[int, Witness] = {}
    for index, change in enumerate(changes):
        if change.change_class == CONSUMER:
            witness = find_witness(old.directory, new.directory, change)
            if witness is not None:
                found[index] = witness
    return found


def _print(old: ContractTree, new: ContractTree, changes: Sequence[Change],
           witnesses: dict[int, Witness], fmt: str) -> None:
    counts = count_by_class(changes)
    verdict = "breaking" if is_breaking(changes) else "compatible"
    if fmt == "json":
        print(json.dumps(_report(old, new, changes, witnesses, counts, verdict), indent=2,
                         ensure_ascii=False))
        return
    for index, change in enumerate(changes):
        print(change.line())
        if index in witnesses:
            print(f"    proof: {witnesses[index].describe()}")
        elif change.change_class == CONSUMER and change.location and \
                change.document.endswith(".json"):
            print("    proof: none found (no edit of a valid corpus document reaches this "
                  "change; the break is shown at schema level only)")
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    print(f"{old.label} -> {new.label}: {summary}; {verdict}")


def _report(old: ContractTree, new: ContractTree, changes: Sequence[Change],
            witnesses: dict[int, Witness], counts: dict[str, int],
            verdict: str) -> dict[str, Any]:
    items = []
    for index, change in enumerate(changes):
        item = change.as_json()
        if index in witnesses:
            item["witness"] = witnesses[index].as_json()
        items.append(item)
    return {"old": old.label, "new": new.label, "verdict": verdict, "counts": counts,
            "changes": items}


def _changelog(action: str, old: str, tree: ContractTree, changes: Sequence[Change]) -> int:
    # The changelog beside NEW's directory (contracts/CHANGELOG.md for contracts/v1).
    path, new = tree.directory.parent / "CHANGELOG.md", tree.label
    text = log.read_changelog(path)
    block = log.render_block(old, new, changes)
    if action == "write":
        updated = log.with_block(text, old, new, block, path)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
        print(f"{path}: diff {old} {new} block {'updated' if updated != text else 'up to date'}",
              file=sys.stderr)
        return EXIT_OK
    if log.blocks(text).get((old, new)) != block:
        print(f"{path}: the diff {old} {new} block is missing or out of date; run "
              f"`ihub-conformance diff {old} {new} --changelog write`", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{path}: diff {old} {new} block up to date", file=sys.stderr)
    return EXIT_OK


# -- the CI guard -----------------------------------------------------------------------


def _against_base(args: argparse.Namespace) -> int:
    root = _repo(args)
    head = root / "contracts"
    revision, how = (args.against_base, args.against_base) if args.against_base \
        else merge_base(root)
    print(f"contract-diff: contracts/ against {how}")
    problems: list[str] = []
    if revision is not None:
        with tempfile.TemporaryDirectory(prefix="ihub-diff-base-") as tmp:
            base = _base_contracts(root, revision, Path(tmp))
            if base is not None:
                problems += _in_place_breaks(base, head)
    problems += _changelog_blocks(head)
    for problem in problems:
        print(problem)
    print(f"contract-diff: {'FAILED' if problems else 'ok'} ({len(problems)} problem(s))")
    return EXIT_FINDINGS if problems else EXIT_OK


def _base_contracts(root: Path, revision: str, tmp: Path) -> Path | None:
    try:
        return extract_contracts(root, revision, tmp)
    except InputError as exc:
        print(f"contract-diff: no contracts/ at {revision} ({exc.reason}); nothing to compare")
        return None


def _versions(directory: Path) -> list[str]:
    found = [p.name for p in directory.iterdir() if p.is_dir() and _VERSION.match(p.name)] \
        if directory.is_dir() else []
    return sorted(found, key=lambda name: int(name[1:]))


def _in_place_breaks(base: Path, head: Path) -> list[str]:
    """A version directory of the base may change only compatibly."""
    problems = []
    for version in _versions(base):
        if not (head / version).is_dir():
            problems.append(f"contracts/{version}: removed; published versions stay")
            continue
        changes = compare_contracts(open_tree(base / version, f"{version}@base"),
                                    open_tree(head / version, version))
        breaking = [c for c in changes if c.change_class in BREAKING]
        if breaking:
            problems.append(
                f"contracts/{version}: {len(breaking)} breaking change(s) in place; put them "
                f"in a new version directory (contracts/v{int(version[1:]) + 1}) with its "
                "changelog section:")
            problems += [f"  {change.line()}" for change in breaking]
    return problems


def _changelog_blocks(head: Path) -> list[str]:
    """Every version after the first has a current generated block in its section."""
    path = head / "CHANGELOG.md"
    text = log.read_changelog(path)
    versions = _versions(head)
    problems = []
    for old, new in itertools.pairwise(versions):
        changes = compare_contracts(open_tree(head / old, old), open_tree(head / new, new))
        if log.blocks(text).get((old, new)) != log.render_block(old, new, changes):
            problems.append(f"{path}: the diff {old} {new} block is missing or out of date "
                            f"(a new version or an unlisted change); run `ihub-conformance "
                            f"diff {old} {new} --changelog write` and review the section")
    return problems
