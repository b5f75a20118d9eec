"""Tests for phonon.lib.templating: every value must reach the receiver verbatim."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from lxml import etree

from phonon.lib.templating import (
    VARIABLE_RE,
    TemplateError,
    find_variables,
    render_form,
    render_header,
    render_json,
    render_text,
    render_url,
    render_xml,
    validate_body_template,
)

# Everything that could change the structure of a body, URL or header if it were not escaped.
NASTY = 'He said "hi" & <b>left</b>, it\'s 1/2? #top a=b+c 100% \\ ]]> --> $call.cli ü €\n\r\tend'
TRICKY_VALUES = ['"', "<", "&", "/", "?", "\n", "#", "'", "\r\n", "\\", "]]>", "--", "", " lead", ".", "..", NASTY]


def vars_with(value: str) -> dict[str, str]:
    return {"$call.cli": value, "$flow.key.order": value, "$user.key.name": value}


# --- names ---------------------------------------------------------------------------------


def test_the_variable_pattern_reads_the_three_prefixes_bare_and_braced() -> None:
    found = [m.group(0) for m in VARIABLE_RE.finditer("$call.cli ${flow.key.order} $user.key.a_1 ${call.did}")]
    assert found == ["$call.cli", "${flow.key.order}", "$user.key.a_1", "${call.did}"]


def test_it_leaves_unknown_prefixes_and_unfinished_braces_as_typed() -> None:
    template = "$foo.bar $call $flow.cli ${call.cli $flow.key. US$ 5"
    assert find_variables(template) == []
    assert render_text(template, {"$call.cli": "X"}) == template


def test_it_finds_canonical_names_once_each_in_order() -> None:
    template = "${flow.key.order} $call.cli $flow.key.order ${call.cli} $user.key.x"
    assert find_variables(template) == ["$flow.key.order", "$call.cli", "$user.key.x"]


def test_a_name_ends_at_the_first_character_that_is_not_a_letter_digit_or_underscore() -> None:
    variables = {"$call.cli": "123", "$flow.key.a": "A"}
    assert render_text("Caller $call.cli.", variables) == "Caller 123."
    assert render_text("$flow.key.a-b $flow.key.a.b", variables) == "A-b A.b"


def test_braces_delimit_a_name_inside_text() -> None:
    variables = {"$flow.key.order": "42", "$flow.key.order_x": "wrong"}
    assert render_text("id-${flow.key.order}-x", variables) == "id-42-x"
    assert render_text("${flow.key.order}_x", variables) == "42_x"


# --- plain text ----------------------------------------------------------------------------


def test_an_unset_or_none_variable_renders_empty() -> None:
    assert render_text("[$call.cli][$flow.key.missing]", {"$call.cli": None}) == "[][]"


def test_a_substituted_value_is_never_expanded_again() -> None:
    variables = {"$call.cli": "$flow.key.secret ${user.key.x}", "$flow.key.secret": "S", "$user.key.x": "X"}
    assert render_text("$call.cli", variables) == "$flow.key.secret ${user.key.x}"
    assert json.loads(render_json('{"a": "$call.cli"}', variables)) == {"a": "$flow.key.secret ${user.key.x}"}


def test_render_text_keeps_values_verbatim() -> None:
    assert render_text("<$call.cli>", {"$call.cli": NASTY}) == f"<{NASTY}>"


def test_non_string_values_are_rendered_as_text() -> None:
    assert render_text("$flow.key.n", {"$flow.key.n": 5}) == "5"  # type: ignore[dict-item]


# --- headers -------------------------------------------------------------------------------


def test_a_header_value_cannot_inject_another_header() -> None:
    rendered = render_header("Bearer $flow.key.order", {"$flow.key.order": "abc\r\nX-Evil: 1\n\x00"})
    assert "\r" not in rendered
    assert "\n" not in rendered
    assert "\x00" not in rendered
    assert rendered == "Bearer abcX-Evil: 1"


def test_a_header_value_has_no_leading_or_trailing_whitespace() -> None:
    assert render_header("$call.cli", {"$call.cli": "  v \r\n"}) == "v"


def test_a_non_ascii_header_value_goes_out_as_utf8() -> None:
    rendered = render_header("name=$user.key.name", {"$user.key.name": "Zoë €"})
    assert rendered.encode("latin-1").decode("utf-8") == "name=Zoë €"


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_in_a_path_segment_arrives_verbatim_and_stays_one_segment(value: str) -> None:
    url = render_url("https://api.example.com/orders/$flow.key.order/items?x=1", vars_with(value))
    parts = urlsplit(url)
    assert parts.netloc == "api.example.com"
    assert parts.query == "x=1"
    assert parts.fragment == ""
    segments = parts.path.split("/")
    assert segments[:2] == ["", "orders"]
    assert segments[3] == "items"
    assert segments[2] not in (".", "..")  # a dot segment would be removed, or climb one up
    assert unquote(segments[2]) == value


@pytest.mark.parametrize(
    ("template", "value", "path"),
    [
        ("/customers/$user.key.name/orders", "..", "/customers/%2E%2E/orders"),
        ("/customers/$user.key.name/orders", ".", "/customers/%2E/orders"),
        ("/customers/$user.key.name", "..", "/customers/%2E%2E"),
        ("/customers/$user.key.name$call.cli/orders", ".", "/customers/%2E%2E/orders"),
        ("/customers/.$user.key.name/orders", ".", "/customers/.%2E/orders"),
        ("/customers/$user.key.name/orders", "...", "/customers/.../orders"),
        ("/customers/$user.key.name/orders", "a.b", "/customers/a.b/orders"),
        ("/customers/$user.key.name/orders", "../..", "/customers/..%2F../orders"),
    ],
)
def test_a_value_of_dots_cannot_remove_or_climb_a_path_segment(template: str, value: str, path: str) -> None:
    assert render_url("https://api.example.com" + template, vars_with(value)) == "https://api.example.com" + path


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_in_the_query_arrives_verbatim_and_adds_no_parameter(value: str) -> None:
    url = render_url("https://api.example.com/find?cli=$call.cli&order=${flow.key.order}&fixed=1", vars_with(value))
    parts = urlsplit(url)
    assert parts.path == "/find"
    assert parts.fragment == ""
    assert parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True) == [
        ("cli", value),
        ("order", value),
        ("fixed", "1"),
    ]


def test_a_value_as_a_query_key_or_fragment_arrives_verbatim() -> None:
    url = render_url("https://h.example/p?$user.key.name=1#$call.cli", vars_with(NASTY))
    parts = urlsplit(url)
    assert parse_qsl(parts.query, strict_parsing=True) == [(NASTY, "1")]
    assert unquote(parts.fragment) == NASTY


def test_a_value_in_the_host_cannot_add_a_path_or_credentials() -> None:
    url = render_url("https://$flow.key.order.example.com/x", {"$flow.key.order": "evil.com/@:80?q#"})
    parts = urlsplit(url)
    assert parts.path == "/x"
    assert parts.query == ""
    assert parts.username is None
    assert parts.port is None
    assert parts.hostname is not None
    assert parts.hostname.endswith(".example.com")


def test_a_plain_value_in_a_url_is_left_readable() -> None:
    assert (
        render_url("https://h.example/c/$call.cli", {"$call.cli": "+4412-3_4.5~"})
        == "https://h.example/c/%2B4412-3_4.5~"
    )


# --- form bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_in_a_form_body_arrives_verbatim_and_adds_no_field(value: str) -> None:
    body = render_form("cli=$call.cli&order=${flow.key.order}&fixed=a", vars_with(value))
    assert parse_qsl(body, keep_blank_values=True, strict_parsing=True) == [
        ("cli", value),
        ("order", value),
        ("fixed", "a"),
    ]


def test_a_form_value_encodes_spaces_as_plus() -> None:
    assert render_form("n=$user.key.name", {"$user.key.name": "a b+c"}) == "n=a+b%2Bc"


# --- JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_inside_a_json_string_arrives_verbatim(value: str) -> None:
    body = render_json('{"cli": "$call.cli", "id": "id-${flow.key.order}-x", "n": 1}', vars_with(value))
    assert json.loads(body) == {"cli": value, "id": f"id-{value}-x", "n": 1}


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_outside_a_json_string_becomes_a_string(value: str) -> None:
    body = render_json('{"order": $flow.key.order, "list": [$call.cli, 2], $user.key.name: true}', vars_with(value))
    assert json.loads(body) == {"order": value, "list": [value, 2], value: True}


def test_a_number_outside_quotes_is_sent_as_a_string() -> None:
    assert render_json('{"n": $flow.key.order}', {"$flow.key.order": "5"}) == '{"n": "5"}'


def test_a_value_cannot_close_the_json_object_or_add_a_key() -> None:
    attack = '", "admin": true, "x": "'
    body = render_json('{"name": "$user.key.name"}', {"$user.key.name": attack})
    assert json.loads(body) == {"name": attack}


def test_an_unset_variable_in_json_is_an_empty_string_in_both_places() -> None:
    assert json.loads(render_json('{"a": "$call.cli", "b": $call.did}', {})) == {"a": "", "b": ""}


def test_escaped_quotes_and_backslashes_in_the_template_do_not_confuse_the_json_scanner() -> None:
    template = r'{"a": "say \"$call.cli\"", "b\\": $flow.key.order, "c": "\\$user.key.name"}'
    body = render_json(template, vars_with('x"y'))
    assert json.loads(body) == {"a": 'say "x"y"', "b\\": 'x"y', "c": '\\x"y'}


def test_a_json_array_template_renders_valid_json() -> None:
    body = render_json('[$call.cli, "$call.cli", {"k": [$flow.key.order]}]', vars_with("]}"))
    assert json.loads(body) == ["]}", "]}", {"k": ["]}"]}]


def test_unicode_values_stay_readable_in_json() -> None:
    assert render_json('{"n": "$user.key.name"}', {"$user.key.name": "Zoë"}) == '{"n": "Zoë"}'


# --- XML -----------------------------------------------------------------------------------


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_in_xml_text_and_attributes_arrives_verbatim(value: str) -> None:
    body = render_xml(
        "<order id=\"$flow.key.order\" who='$user.key.name'><cli>$call.cli</cli><n>1</n></order>",
        vars_with(value),
    )
    root = parse(body)
    assert root.get("id") == value
    assert root.get("who") == value
    assert root.findtext("cli") == value
    assert [child.tag for child in root] == ["cli", "n"]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_a_value_in_a_cdata_section_arrives_verbatim(value: str) -> None:
    body = render_xml("<r><![CDATA[pre $call.cli post]]><n/></r>", vars_with(value))
    root = parse(body)
    assert root.text == f"pre {value} post"
    assert [child.tag for child in root] == ["n"]


def test_a_value_in_a_comment_cannot_end_the_comment() -> None:
    body = render_xml("<r><!-- caller $call.cli --><n/></r>", vars_with("--><evil/><!-- -"))
    root = parse(body)
    assert [child.tag for child in root.iterchildren(tag=etree.Element)] == ["n"]
    assert isinstance(root[0], etree._Comment)


def test_a_value_cannot_add_an_xml_element() -> None:
    body = render_xml("<r><cli>$call.cli</cli></r>", {"$call.cli": "</cli><admin>1</admin><cli>"})
    root = parse(body)
    assert root.find("admin") is None
    assert root.findtext("cli") == "</cli><admin>1</admin><cli>"


def test_characters_xml_cannot_hold_are_dropped() -> None:
    body = render_xml("<r>$call.cli</r>", {"$call.cli": "a\x00b\x1bc\ufffed"})
    assert parse(body).text == "abcd"


def test_a_variable_after_an_xml_declaration_and_doctype_is_escaped_as_text() -> None:
    template = '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE r [<!ELEMENT r ANY>]><r a="$call.cli">$call.cli</r>'
    root = parse(render_xml(template, vars_with("<&>")))
    assert root.text == "<&>"
    assert root.get("a") == "<&>"


# --- validation on save --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body_type", "template"),
    [
        ("none", ""),
        ("none", "anything at all"),
        ("json", '{"cli": "$call.cli", "order": $flow.key.order, "nested": {"a": [1, "${user.key.x}"]}}'),
        ("json", "[$call.cli]"),
        ("xml", '<?xml version="1.0" encoding="UTF-8"?><r a="$call.cli"><![CDATA[$call.cli]]>$flow.key.x</r>'),
        ("form", "a=1&b=$call.cli&${flow.key.k}=v&empty="),
    ],
)
def test_it_accepts_valid_body_templates(body_type: str, template: str) -> None:
    validate_body_template(body_type, template)


@pytest.mark.parametrize(
    ("body_type", "template", "words"),
    [
        ("yaml", "a: 1", "body type 'yaml' is unknown"),
        ("json", "", "JSON body is empty"),
        ("json", "   ", "JSON body is empty"),
        ("json", '{"a": 1,}', "not valid JSON"),
        ("json", '{"a": "$call.cli}', "not valid JSON"),
        ("json", '{"a": NaN}', "not valid JSON"),
        ("json", '{"a": $call.cli $call.did}', "not valid JSON"),
        ("xml", "<r><a></r>", "not well-formed XML"),
        ("xml", "plain text", "not well-formed XML"),
        ("xml", "<r>&</r>", "not well-formed XML"),
        ("xml", "<$flow.key.tag>x</$flow.key.tag>", "$flow.key.tag inside a tag"),
        ("xml", '<r $flow.key.attr="1"/>', "$flow.key.attr inside a tag"),
        ("form", "a=1&b", "Form field 2 ('b') is not a key=value pair"),
        ("form", "a=1&&b=2", "Form field 2 ('') is not a key=value pair"),
        ("form", "=1", "Form field 1"),
        ("form", "a=1\nb=2", "line break"),
    ],
)
def test_it_refuses_invalid_body_templates_with_a_sentence(body_type: str, template: str, words: str) -> None:
    with pytest.raises(TemplateError) as raised:
        validate_body_template(body_type, template)
    assert words in str(raised.value)
    assert str(raised.value).endswith(".")


def test_a_template_error_is_a_value_error() -> None:
    assert issubclass(TemplateError, ValueError)


def test_a_json_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="on line 3"):
        validate_body_template("json", '{\n  "a": 1,\n  "b": }')
