"""The package layout holds: public API guarded, no private reach-ins, no cycles, allowed deps.

ARCHITECTURE.md describes each subpackage; ``MAY_IMPORT`` below is its import rule,
checked on the source (module-level and function-level imports alike).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import ihub_conformance

PACKAGE = Path(ihub_conformance.__file__).resolve().parent
ROOT = PACKAGE.parents[1]

# Top-level modules every subpackage may use.
SHARED = {"errors", "documents", "_paths", "__init__"}
# subpackage -> the subpackages it may import (besides itself and SHARED).
MAY_IMPORT: dict[str, set[str]] = {
    "contract": set(),
    "validation": {"contract"},
    "secrets": set(),
    "stream": {"contract", "validation", "secrets"},
    "hub": {"contract", "secrets", "reference"},  # target "reference" starts the embedded hub
    "reference": {"contract", "validation", "secrets"},
    "suite": {"contract", "validation", "secrets", "hub", "reference"},
    "gate": {"contract", "validation", "secrets", "hub", "stream"},
    "commands": {"contract", "validation", "secrets", "stream", "hub", "reference", "suite",
                 "gate"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("ihub_conformance", *parts))] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Modules of this package that ``name`` imports (``from pkg import mod`` -> pkg.mod)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("ihub_conformance"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("ihub_conformance"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
    out.discard(name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_root_exports_exactly_its_public_api():
    assert len(set(ihub_conformance.__all__)) == len(ihub_conformance.__all__)
    for name in ihub_conformance.__all__:
        assert getattr(ihub_conformance, name) is not None, name
    public = {n for n in dir(ihub_conformance) if not n.startswith("_")}
    assert public == {n for n in ihub_conformance.__all__ if not n.startswith("_")}


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_exports_what_its_all_names(package: str):
    module = importlib.import_module(f"ihub_conformance.{package}")
    for name in getattr(module, "__all__", ()):
        assert hasattr(module, name), f"{package}.__all__ names {name}, which it lacks"


def test_no_module_imports_a_sibling_packages_private_module():
    bad = []
    for name, targets in GRAPH.items():
        for target in targets:
            parts = target.split(".")
            private = [i for i, p in enumerate(parts) if p.startswith("_") and i > 0]
            if not private:
                continue
            owner = ".".join(parts[:private[0]])  # the package the private module belongs to
            if not (name == owner or name.startswith(owner + ".")):
                bad.append(f"{name} -> {target}")
    assert bad == []


def _private_names_from_other_packages(name: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("ihub_conformance.") \
                and _top(node.module) != _top(name):
            found += [f"{name} -> {node.module}.{alias.name}" for alias in node.names
                      if alias.name.startswith("_")
                      and f"{node.module}.{alias.name}" not in MODULES]
    return found


def test_no_module_imports_a_private_name_of_another_package():
    bad = [hit for name, path in MODULES.items()
           for hit in _private_names_from_other_packages(name, path)]
    assert bad == [], "make the name public (and say so in its module) or move the code"


def test_subpackages_import_only_what_architecture_allows():
    bad = []
    for name, targets in GRAPH.items():
        mine = _top(name)
        if mine not in MAY_IMPORT:
            continue
        for target in targets:
            theirs = _top(target)
            if theirs in SHARED or theirs == mine or theirs in MAY_IMPORT[mine]:
                continue
            bad.append(f"{name} -> {target}")
    assert bad == [], "update ARCHITECTURE.md and MAY_IMPORT together, or move the code"


def test_no_import_cycles():
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    # a package's __init__ importing its own submodules is not a cycle back to itself
    real = [c for c in cycles if not all(m.startswith(c[-1]) for m in c)]
    assert real == []


def test_architecture_md_describes_every_subpackage():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(MAY_IMPORT), "a new subpackage needs a MAY_IMPORT rule"
    for package in packages:
        assert f"`{package}/`" in text, f"ARCHITECTURE.md says nothing of {package}/"


MAX_FUNCTION_LINES = 60


def test_long_functions_say_why() -> None:
    """A function over ~60 lines carries a `# long: <reason>` comment above its `def`."""
    bad = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if "# long:" not in lines[first - 2]:
                    bad.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert bad == [], "split it, or write the reason as `# long: ...` above the def"


def test_tests_mirror_the_packages():
    tests = Path(__file__).resolve().parent
    for package in MAY_IMPORT:
        assert (tests / package).is_dir(), f"tests/{package}/ is missing"


# -- tests reach packages through public names ---------------------------------------------
TEST_DIRS = (ROOT / "tests", ROOT / "conformance")


def _test_files() -> list[Path]:
    return sorted(path for folder in TEST_DIRS for path in folder.rglob("*.py"))


def _private_part(dotted: str) -> str | None:
    """The first `_private` part of `ihub_conformance.a.b` below the root, if any (the shared
    top-level modules such as `_paths` are everyone's)."""
    parts = dotted.split(".")[1:]
    if parts and ".".join(parts[:1]) in SHARED:
        parts = parts[1:]
    return next((p for p in parts if p.startswith("_") and not p.startswith("__")), None)


def private_reaches(source: str) -> list[tuple[str, str]]:
    """(package, reached name) for every private name of this package that `source` reaches:
    `from pkg.mod import _name`, a private module, `module._name` through an imported module
    and `setattr(module, "_name", ...)` (monkeypatching)."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> dotted module it stands for
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "ihub_conformance":
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                if _private_part(dotted):
                    found.append((_top(dotted), dotted))
                modules[alias.asname or alias.name] = dotted
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ihub_conformance":
                    if _private_part(alias.name):
                        found.append((_top(alias.name), alias.name))
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        target, name = None, None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target, name = node.value.id, node.attr
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "setattr" \
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) \
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            target, name = node.args[0].id, node.args[1].value
        if target in modules and name and _private_part(f"ihub_conformance.{name}"):
            found.append((_top(modules[target]), f"{modules[target]}.{name}"))
    return found


def _test_package(path: Path) -> str | None:
    """The package a test file tests: its folder under tests/ (None for conformance/)."""
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "tests" and len(parts) > 2 else None


def test_no_test_reaches_a_private_name_of_another_package() -> None:
    bad = [f"{path.relative_to(ROOT)} -> {name}" for path in _test_files()
           for package, name in private_reaches(path.read_text(encoding="utf-8"))
           if package != _test_package(path)]
    assert bad == [], "test through the package's public API, or make the seam public"


def test_the_stream_tests_use_only_public_names() -> None:
    bad = [f"{path.relative_to(ROOT)} -> {name}"
           for path in sorted((ROOT / "tests" / "stream").glob("*.py"))
           for _, name in private_reaches(path.read_text(encoding="utf-8"))]
    assert bad == []


@pytest.mark.parametrize("source", [
    "from ihub_conformance.stream.pipeline import _KeyIndex",
    "from ihub_conformance.stream import _workers",
    "import ihub_conformance.stream._workers as w",
    "from ihub_conformance.stream import pipeline as p\np._tier = None",
    "from ihub_conformance.stream import pipeline\nmonkeypatch.setattr(pipeline, '_tier', 1)",
])
def test_the_private_name_rule_sees_each_way_in(source: str) -> None:
    assert private_reaches(source), source
    assert not private_reaches("from ihub_conformance._paths import ROOT\n"
                               "from ihub_conformance.stream import pipeline\n"
                               "pipeline.check_stream([])")
