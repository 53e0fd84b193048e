"""Reading the tool's own input files, with one-line errors naming the file.

Every JSON or YAML input (documents to validate, assumption files, seeds, catalogs,
widget mappings, runtime manifests) is parsed here under one rule set, so no input
path is more lenient than another (assumption register ASM-19):

* a key repeated in one object or mapping is refused, never resolved (last wins);
* YAML aliases may add at most ``MAX_ALIAS_NODES`` nodes in all, and never a cycle
  (a few hundred bytes of nested aliases would otherwise expand to billions);
* integers longer than ``MAX_INT_DIGITS`` digits and numbers beyond double range are
  refused (Python cannot read the first, JSON cannot hold the second).

It also holds the one JSON-pointer helper set (RFC 6901 pointers, the walk over a
document, a copy with one node set or removed) that contract, validation and the
tests share.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import yaml

from ihub_conformance.errors import InputError

MAX_ALIAS_NODES = 10_000
MAX_INT_DIGITS = 4300  # Python's own limit for int <-> str conversion
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"


class DocumentRefused(ValueError):
    """Well-formed syntax that breaks one of the rules above."""


def read_text(path: str | Path, what: str = "") -> str:
    """The file's UTF-8 text; an unreadable file is an InputError ("cannot read <what>: ...")."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        label = f"cannot read {what}" if what else "cannot read"
        raise InputError(str(path), f"{label}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None


def standard_input() -> IO[bytes]:
    """stdin as bytes; an InputError when the process was started with it closed."""
    stream = sys.stdin
    if stream is None or getattr(stream, "buffer", None) is None or stream.closed:
        raise InputError("<stdin>", "standard input is closed")
    return stream.buffer


def yaml_error_where(exc: yaml.YAMLError) -> str:
    """Where pyyaml found a syntax error: ``line N`` when it knows, else ``document``."""
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}" if mark else "document"


# -- JSON -------------------------------------------------------------------------------------


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DocumentRefused(f"duplicate key {_shown(key)}")
            seen.add(key)
    return document


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise DocumentRefused(f"integer longer than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise DocumentRefused(f"number {_shown(text)} is beyond double range")
    return value


def _no_constants(name: str) -> Any:
    raise DocumentRefused(f"{name} is not a JSON value")


def loads_json(text: str) -> Any:
    """Strict JSON: raises DocumentRefused (rules above), json.JSONDecodeError (syntax) or
    RecursionError (nesting)."""
    return json.loads(text, object_pairs_hook=_unique_keys, parse_int=_bounded_int,
                      parse_float=_finite_float, parse_constant=_no_constants)


def count_keys(value: Any) -> int:
    """Keys in every object of a parsed JSON value."""
    total = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            total += len(node)
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return total


def may_repeat_keys(raw: bytes | str, parsed: Any) -> bool:
    """Cheap test for a JSON text whose parser kept fewer keys than it holds (a repeated
    key resolved last-wins): without white space after a quote, each key is one ``":``.
    Anything else (white space after a quote, a quote-colon inside a string) is a maybe,
    for `repeated_key` to decide."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")
    return space_after_quote(data) or data.count(b'":') != count_keys(parsed)


def space_after_quote(data: bytes) -> bool:
    """Whether JSON white space follows a quote somewhere (a key may be spaced from its
    colon, so counting ``":`` does not count keys)."""
    return b'" ' in data or b'"\t' in data or b'"\n' in data or b'"\r' in data


def repeated_key(raw: bytes | str) -> str | None:
    """The first key repeated in one object of a JSON text, or None."""
    try:
        loads_json(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)
    except DocumentRefused as exc:
        text = str(exc)
        return text if text.startswith("duplicate key") else None
    except (ValueError, RecursionError):
        return None
    return None


# -- YAML -------------------------------------------------------------------------------------


def _shown(key: object) -> str:
    text = str(key)
    return repr(text if len(text) <= 64 else text[:61] + "...")


def _check_node(root: yaml.Node) -> None:
    """Refuse duplicate keys, oversized integers and alias expansion beyond the bound."""
    sizes: dict[int, int] = {}  # id(node) -> nodes it expands to
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        if key in active:
            raise DocumentRefused("an alias refers to a node that contains it (a cycle)")
        _check_one(node)
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    distinct = len(sizes)
    if sizes[id(root)] - distinct > MAX_ALIAS_NODES:
        raise DocumentRefused(f"aliases expand to more than {MAX_ALIAS_NODES} extra nodes")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_one(node: yaml.Node) -> None:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _INT_TAG and len(node.value.lstrip("+-")) > MAX_INT_DIGITS:
            raise DocumentRefused(f"integer longer than {MAX_INT_DIGITS} digits (line "
                                  f"{node.start_mark.line + 1})")
        return
    if not isinstance(node, yaml.MappingNode):
        return
    seen: set[str] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value in seen:  # `1:` and `"1":` are one key once the document is JSON
            raise DocumentRefused(f"duplicate key {_shown(key_node.value)} (line "
                                  f"{key_node.start_mark.line + 1})")
        seen.add(key_node.value)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that checks each composed document before anything is built from it."""

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None:
            _check_node(node)
        return node


class PlainLoader(StrictLoader):
    """StrictLoader without implicit timestamps: a date stays the string the author wrote."""


PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def refusal(source: str, exc: Exception, syntax: str = "YAML") -> InputError:
    """The one-line InputError for a parse failure of ``source`` (any exception above)."""
    if isinstance(exc, DocumentRefused):
        return InputError(source, f"not valid {syntax}: {exc}")
    if isinstance(exc, RecursionError):
        return InputError(source, f"not valid {syntax}: nested too deeply")
    if isinstance(exc, json.JSONDecodeError):
        return InputError(source, f"not valid {syntax}: line {exc.lineno} column "
                          f"{exc.colno}: {exc.msg}")
    if isinstance(exc, yaml.YAMLError):
        return InputError(source, f"not valid {syntax} ({yaml_error_where(exc)})")
    return InputError(source, f"not valid {syntax}: {exc}")


PARSE_ERRORS = (DocumentRefused, RecursionError, json.JSONDecodeError, yaml.YAMLError,
                ValueError)


def read_yaml(path: Path, *, syntax: str = "YAML") -> Any:
    """Parse a YAML (or JSON, which is YAML) file.

    ``syntax`` names what the file may hold in the error, e.g. ``not valid YAML (line 3)``.
    """
    text = read_text(path)
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except PARSE_ERRORS as exc:
        raise refusal(str(path), exc, syntax) from None


def load_document(path: str) -> Any:
    """The one document loader: a JSON or YAML document from a file or stdin ('-'), under
    this module's rules; InputError (one line) when it is unreadable or refused."""
    source = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = standard_input().read().decode("utf-8")
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except UnicodeDecodeError:
        raise InputError(source, "not valid JSON/YAML: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    return parse_document(text, source)


def parse_document(text: str, source: str) -> Any:
    """Parse JSON (when it looks like JSON) or YAML into plain JSON values (documents' rules)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise InputError(source, "not valid JSON/YAML: empty document")
    try:
        if stripped[0] in "{[":
            return loads_json(stripped)
        documents = list(yaml.load_all(stripped, Loader=PlainLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputError(source, f"not valid JSON/YAML: {where}{problem}") from None
    except PARSE_ERRORS as exc:
        raise refusal(source, exc, "JSON/YAML") from None
    if len(documents) != 1:
        found = len(documents)
        raise InputError(source, f"not valid JSON/YAML: expected one document, found {found}")
    # Round-trip through JSON: YAML may produce non-string keys or other types
    # that JSON (and so the contract) cannot hold; they become strings.
    return json.loads(json.dumps(documents[0], default=str))


# -- JSON pointers (RFC 6901): the one walker for contract, validation and the tests ----

DocPath = Sequence[str | int]  # keys and list indexes from the root


def pointer_token(token: str | int) -> str:
    """One RFC 6901 reference token (``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(path: DocPath) -> str:
    """The RFC 6901 pointer of a path of keys and indexes (``""`` for the root)."""
    return "".join("/" + pointer_token(part) for part in path)


def walk(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...],
                                                                       Any]]:
    """Every node of a JSON document with its path, parents before their children."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def with_value(document: Any, path: DocPath, value: Any) -> Any:
    """A deep copy of ``document`` with the node at ``path`` (not the root) set to ``value``."""
    copied = copy.deepcopy(document)
    _parent(copied, path)[path[-1]] = value
    return copied


def without(document: Any, path: DocPath) -> Any:
    """A deep copy of ``document`` with the node at ``path`` (not the root) removed."""
    copied = copy.deepcopy(document)
    del _parent(copied, path)[path[-1]]
    return copied


def _parent(document: Any, path: DocPath) -> Any:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node
