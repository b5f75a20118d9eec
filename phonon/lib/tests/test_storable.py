"""Text the database cannot store: NUL and lone surrogates."""

import pytest

from phonon.lib.storable import first_unstorable_field, storable, unstorable_problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b", "a\ufffdb"),
        ("\ud800x\udfff", "\ufffdx\ufffd"),
        ("emoji \U0001f600 stays", "emoji \U0001f600 stays"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
    ],
)
def test_storable_replaces_only_what_cannot_be_stored(text, expected):
    assert storable(text) == expected


def test_the_problem_names_the_character():
    assert unstorable_problem("ok") is None
    assert unstorable_problem("a\x00") == "The text holds a NUL character (U+0000), which cannot be stored; remove it."
    assert "unpaired surrogate (U+DC00)" in unstorable_problem("\udc00")


def test_the_first_refused_field_is_named_by_its_name_or_value():
    assert first_unstorable_field([("a", ["1"]), ("b", ["2", "x\x00"])])[0] == "b"
    assert first_unstorable_field([("b\x00", ["2"])])[0] == "b\ufffd"
    assert first_unstorable_field([("a", ["1"])]) is None
