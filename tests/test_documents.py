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
