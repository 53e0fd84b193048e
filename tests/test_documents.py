"""The shared file reader: one-line InputErrors naming the file and the reason."""

from __future__ import annotations

import pytest

from ihub_conformance.documents import read_text, read_yaml
from ihub_conformance.errors import InputError


def test_missing_file_names_what_could_not_be_read(tmp_path):
    missing = tmp_path / "absent.yaml"
    with pytest.raises(InputError) as caught:
        read_text(missing, "runtime manifest")
    reason = "cannot read runtime manifest: No such file or directory"
    assert str(caught.value) == f"{missing}: {reason}"


def test_yaml_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_yaml(bad, syntax="YAML/JSON")
    assert str(caught.value).startswith(f"{bad}: not valid YAML/JSON (line ")


def test_json_is_read_as_yaml(tmp_path):
    doc = tmp_path / "doc.json"
    doc.write_text('{"values": {"page": 2}}', encoding="utf-8")
    assert read_yaml(doc) == {"values": {"page": 2}}


def test_non_utf8_file_is_one_line_error_not_a_traceback(tmp_path):
    binary = tmp_path / "blob.yaml"
    binary.write_bytes(b"a: 1\n\xff\xfe\n")
    with pytest.raises(InputError) as caught:
        read_yaml(binary)
    assert str(caught.value) == f"{binary}: not UTF-8 text (byte 5)"


# -- one rule for every input (ASM-19) ---------------------------------------------------------

from ihub_conformance.documents import (  # noqa: E402
    MAX_ALIAS_NODES,
    DocumentRefused,
    loads_json,
    may_repeat_keys,
    repeated_key,
)

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True))


def _yaml_file(tmp_path, text: str):
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, reason", [
    (LAUGHS, f"aliases expand to more than {MAX_ALIAS_NODES} extra nodes"),
    ("a: &x [*x]\n", "a cycle"),
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (line 3)"),
    ("1: x\n'1': y\n", "duplicate key '1'"),
    ("a: " + "9" * 4301 + "\n", "integer longer than 4300 digits"),
    ('{"a": 1, "a": 1}', "duplicate key 'a'"),
])
def test_every_yaml_reader_refuses_the_same_inputs(tmp_path, text, reason):
    with pytest.raises(InputError) as caught:
        read_yaml(_yaml_file(tmp_path, text))
    assert reason in str(caught.value)


def test_aliases_within_the_bound_and_merge_keys_still_load(tmp_path):
    text = "base: &b {x: 1}\nuse: {<<: *b, y: 2}\nlist: [*b, *b]\n"
    assert read_yaml(_yaml_file(tmp_path, text))["use"] == {"x": 1, "y": 2}


def test_billion_laughs_is_refused_before_it_expands(tmp_path):
    import time

    started = time.monotonic()
    with pytest.raises(InputError):
        read_yaml(_yaml_file(tmp_path, LAUGHS))
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("text", [
    '{"a": {"b": 1, "b": 2}}', '[{"k": 1}, {"k": 1, "k": 2}]', '{"n": 1' + "0" * 4300 + "}",
    '{"n": 1e400}', '{"n": NaN}', '{"n": -Infinity}',
])
def test_json_refusals(text):
    with pytest.raises(DocumentRefused):
        loads_json(text)


def test_json_keeps_big_integers_and_nested_equal_keys_exactly():
    assert loads_json('{"n": 18446744073709551616, "a": {"n": 1}}') == {
        "n": 18446744073709551616, "a": {"n": 1}}


@pytest.mark.parametrize("raw, repeated", [
    (b'{"a":1,"b":{"a":2}}', None),
    (b'{"a":1,"a":2}', "duplicate key 'a'"),
    (b'{"a" :1,"a":2}', "duplicate key 'a'"),  # a space before the colon
    (b'{"s":"x\\":","a":1,"a":1}', "duplicate key 'a'"),  # a quote-colon inside a string
])
def test_repeated_keys_are_found_whatever_the_spacing(raw, repeated):
    import orjson

    parsed = orjson.loads(raw)
    found = repeated_key(raw) if may_repeat_keys(raw, parsed) else None
    assert found == repeated


def test_pointers_escape_tilde_before_slash():
    from ihub_conformance.documents import pointer, pointer_token

    assert pointer_token("a/~b") == "a~1~0b"
    assert pointer(()) == "" and pointer(["m", 0, "x/y"]) == "/m/0/x~1y"


def test_the_walk_visits_parents_before_children_in_document_order():
    from ihub_conformance.documents import walk

    doc = {"a": [1, {"b": None}], "c": {}}
    assert [path for path, _ in walk(doc)] == [
        (), ("a",), ("a", 0), ("a", 1), ("a", 1, "b"), ("c",)]


def test_a_copy_with_a_node_set_or_removed_leaves_the_original_alone():
    from ihub_conformance.documents import with_value, without

    doc = {"a": [1, {"b": 2}]}
    assert with_value(doc, ("a", 1, "b"), 3) == {"a": [1, {"b": 3}]}
    assert without(doc, ("a", 0)) == {"a": [{"b": 2}]}
    assert doc == {"a": [1, {"b": 2}]}
