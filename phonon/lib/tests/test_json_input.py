"""Reading JSON request bodies: depth limit, unstorable text, named fields."""

import json

import pytest

from phonon.lib.json_input import MAX_JSON_DEPTH, TOO_DEEP, JSONInputError, read_json_input


def nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


def test_it_reads_ordinary_json():
    assert read_json_input(b'{"call": {"cli": "+1555"}, "ok": [1, 2.5, null, true]}') == {
        "call": {"cli": "+1555"},
        "ok": [1, 2.5, None, True],
    }


def test_it_reads_json_up_to_the_depth_limit():
    assert read_json_input(nested(MAX_JSON_DEPTH))["a"]["a"]


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 500, 2_000, 100_000])
def test_deeper_json_is_refused_with_a_sentence(levels):
    with pytest.raises(JSONInputError) as caught:
        read_json_input(nested(levels))
    assert str(caught.value) == TOO_DEEP
    assert caught.value.errors is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a\x00"}, "name"),
        ({"widgets": [{"config": {"headers": [{"value": "x\x00"}]}}]}, "widgets.0.config.headers.0.value"),
        ({"call": {"cli": "\ud83d"}}, "call.cli"),
        (["ok", "\udfff"], "1"),
        ("\x00", "body"),
    ],
)
def test_unstorable_text_is_refused_naming_its_field(body, field):
    with pytest.raises(JSONInputError) as caught:
        read_json_input(json.dumps(body))  # ensure_ascii: the characters arrive as \\u escapes
    assert list(caught.value.errors) == [field]
    assert "cannot be stored" in caught.value.errors[field][0]


def test_a_surrogate_pair_is_a_character_not_a_problem():
    assert read_json_input('{"smile": "\\ud83d\\ude00"}') == {"smile": "\U0001f600"}


@pytest.mark.parametrize(
    "body", [b"{", b"NaN", b'{"a": Infinity}', b"\xff\xfe\x00", b"1" * 5000, b"[1e309]", b"-1E400"]
)
def test_invalid_json_is_refused_with_a_sentence(body):
    with pytest.raises(JSONInputError, match=r"^The request body is not valid JSON: "):
        read_json_input(body)
