"""The one variable renderer: puts `$call.*`, `$flow.key.*` and `$user.key.*` values into text.

Each renderer escapes a value for the place it lands, so a value never changes the structure
of the JSON, XML, URL, form body or header around it, and it reaches the receiver verbatim
once the receiver decodes what it got. Substitution is a single pass: a substituted value is
never expanded again, so a value holding "$call.cli" stays literal.

An unset variable (missing or None) renders as the empty string. Names are ASCII letters,
digits and underscores; `${flow.key.order}` delimits a name inside text ("id-${call.cli}-x").
Unknown prefixes (`$foo`, `$call` with no field) are left as typed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from urllib.parse import quote, quote_plus

from phonon.lib.extraction import InvalidResponse, loads_strict, parse_xml
from phonon.lib.url_policy import ENCODED_DOT_SEGMENTS

# The three namespaces of variable names; flows, reports and internal functions read them here.
CALL_PREFIX = "$call."
FLOW_KEY_PREFIX = "$flow.key."
USER_KEY_PREFIX = "$user.key."
_PREFIX = "(?:" + "|".join(re.escape(prefix[1:]) for prefix in (CALL_PREFIX, FLOW_KEY_PREFIX, USER_KEY_PREFIX)) + ")"
_NAME = r"[A-Za-z0-9_]+"
VARIABLE_RE = re.compile(rf"\$(?:\{{(?P<braced>{_PREFIX}{_NAME})\}}|(?P<bare>{_PREFIX}{_NAME}))")

BODY_TYPES = ("none", "json", "xml", "form")

Variables = Mapping[str, "str | None"]
Escape = Callable[[str], str]


class TemplateError(ValueError):
    """A template cannot be used; the message is a sentence naming the problem."""


# --- parsing templates ---------------------------------------------------------------------


def canonical_name(match: re.Match[str]) -> str:
    """`${flow.key.x}` and `$flow.key.x` both name "$flow.key.x"."""
    return "$" + (match.group("braced") or match.group("bare"))


@functools.lru_cache(maxsize=1024)
def _split(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The literal pieces and, between them, the variable names (one fewer name than pieces)."""
    literals: list[str] = []
    names: list[str] = []
    position = 0
    for match in VARIABLE_RE.finditer(template):
        literals.append(template[position : match.start()])
        names.append(canonical_name(match))
        position = match.end()
    literals.append(template[position:])
    return tuple(literals), tuple(names)


def find_variables(template: str) -> list[str]:
    """The variables a template uses, each once, in order of first use."""
    return list(dict.fromkeys(_split(template)[1]))


def _value(variables: Variables, name: str) -> str:
    value = variables.get(name)
    return "" if value is None else str(value)


def _render(template: str, variables: Variables, escapes: tuple[Escape, ...] | Escape) -> str:
    """Join literals and escaped values; `escapes` is one function, or one per variable."""
    literals, names = _split(template)
    if not names:
        return template
    if callable(escapes):
        escapes = (escapes,) * len(names)
    pieces = [literals[0]]
    for name, escape, literal in zip(names, escapes, literals[1:], strict=True):
        pieces.append(escape(_value(variables, name)))
        pieces.append(literal)
    return "".join(pieces)


def _verbatim(value: str) -> str:
    return value


# --- plain text and headers ----------------------------------------------------------------


def render_text(template: str, variables: Variables) -> str:
    """Plain substitution, values as they are: for assignments and other non-HTTP text."""
    return _render(template, variables, _verbatim)


# Control characters other than tab cannot appear in a header; CR and LF would start a new one.
_HEADER_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def render_header(template: str, variables: Variables) -> str:
    """A header value: control characters (CR and LF above all) removed, ends trimmed.

    Non-ASCII text is carried as UTF-8: the result is the UTF-8 bytes read as latin-1,
    which is the form http.client writes to the wire unchanged.
    """
    rendered = _HEADER_CONTROL_RE.sub("", render_text(template, variables)).strip(" \t")
    return rendered.encode("utf-8").decode("latin-1")


# --- URLs and form bodies ------------------------------------------------------------------


def _url_component(value: str) -> str:
    # Nothing but unreserved characters survive, so a value is one opaque piece wherever it
    # lands (host, path segment, query key or value, fragment): '/', '?', '&', '#', '=', '+'
    # and '%' are all encoded, and so are the dots of a value that is "." or "..", which would
    # remove or climb a path segment (in a query the receiver decodes them to the same text).
    encoded = quote(value, safe="")
    return ENCODED_DOT_SEGMENTS.get(encoded, encoded)


def _form_component(value: str) -> str:
    return quote_plus(value, safe="")


def render_url(template: str, variables: Variables) -> str:
    """A URL: each value percent-encoded so it cannot add or remove a path segment, a query or a fragment."""
    return _render(template, variables, _url_component)


def render_form(template: str, variables: Variables) -> str:
    """An urlencoded body ("a=1&b=$call.cli"): each value form-encoded (spaces as '+')."""
    return _render(template, variables, _form_component)


# --- JSON ----------------------------------------------------------------------------------


def _json_string_content(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _json_string_literal(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=1024)
def _json_escapes(template: str) -> tuple[Escape, ...]:
    """For each variable: inside a string literal, or where a JSON value goes."""
    literals, names = _split(template)
    escapes: list[Escape] = []
    in_string = False
    backslash = False
    for literal in literals[: len(names)]:
        for char in literal:
            if not in_string:
                in_string = char == '"'
            elif backslash:
                backslash = False
            elif char == "\\":
                backslash = True
            elif char == '"':
                in_string = False
        escapes.append(_json_string_content if in_string else _json_string_literal)
        backslash = False
    return tuple(escapes)


def render_json(template: str, variables: Variables) -> str:
    """A JSON body: inside a string a value is JSON-escaped; elsewhere it becomes a string.

    `{"cli": "$call.cli", "n": $flow.key.n}` with n = 5 gives `{"cli": "…", "n": "5"}`: a value
    outside quotes is always quoted, so it can never add keys or close the object.
    """
    return _render(template, variables, _json_escapes(template))


# --- XML -----------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold at all, even as character references.
_XML_INVALID_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Tab, LF and CR as references: parsers normalise them when written literally (CR becomes LF,
# and all three become spaces inside attribute values).
_XML_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def _xml_markup_text(value: str) -> str:
    """Element text, attribute values, and anything inside a tag or declaration."""
    return _XML_INVALID_RE.sub("", value).translate(_XML_ESCAPES)


def _xml_cdata_text(value: str) -> str:
    """Inside <![CDATA[…]]>: split any "]]>" and step out for CR, which CDATA cannot keep."""
    value = _XML_INVALID_RE.sub("", value)
    return value.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")


def _xml_comment_text(value: str) -> str:
    """Inside <!-- … -->, where "--" is forbidden and a trailing "-" would end the comment."""
    value = _XML_INVALID_RE.sub("", value)
    while "--" in value:
        value = value.replace("--", "- -")
    return value + " " if value.endswith("-") else value


_XML_STATE_ESCAPES: dict[str, Escape] = {
    "text": _xml_markup_text,
    "attribute": _xml_markup_text,
    "tag": _xml_markup_text,
    "declaration": _xml_markup_text,
    "comment": _xml_comment_text,
    "cdata": _xml_cdata_text,
}
# Where a value is data; elsewhere (a tag or attribute name, a DOCTYPE) it would be markup.
_XML_DATA_STATES = ("text", "attribute", "comment", "cdata")


@functools.lru_cache(maxsize=1024)
def _xml_escapes(template: str) -> tuple[Escape, ...]:
    return tuple(_XML_STATE_ESCAPES[state] for state in _xml_states(template))


@functools.lru_cache(maxsize=1024)
def _xml_states(template: str) -> tuple[str, ...]:
    """For each variable: the lexical place it lands in (text, tag, attribute, CDATA, …)."""
    literals, names = _split(template)
    states: list[str] = []
    state, quote_char, depth = "text", "", 0
    for literal in literals[: len(names)]:
        index = 0
        while index < len(literal):
            char = literal[index]
            step = 1
            if state == "text":
                if literal.startswith("<!--", index):
                    state, step = "comment", 4
                elif literal.startswith("<![CDATA[", index):
                    state, step = "cdata", 9
                elif literal.startswith(("<?", "<!"), index):
                    state, step, depth = "declaration", 2, 0
                elif char == "<":
                    state = "tag"
            elif state == "tag":
                if char in "\"'":
                    state, quote_char = "attribute", char
                elif char == ">":
                    state = "text"
            elif state == "attribute":
                if char == quote_char:
                    state = "tag"
            elif state == "comment":
                if literal.startswith("-->", index):
                    state, step = "text", 3
            elif state == "cdata":
                if literal.startswith("]]>", index):
                    state, step = "text", 3
            elif state == "declaration":
                # A DOCTYPE's internal subset holds '>' inside brackets.
                if char == "[":
                    depth += 1
                elif char == "]":
                    depth -= 1
                elif char == ">" and depth <= 0:
                    state = "text"
            index += step
        states.append(state)
    return tuple(states)


def render_xml(template: str, variables: Variables) -> str:
    """An XML body: values XML-escaped wherever they land, so they arrive verbatim.

    Characters XML 1.0 cannot represent (most C0 controls) are dropped.
    """
    return _render(template, variables, _xml_escapes(template))


# --- validation on save --------------------------------------------------------------------

_SAMPLE_VALUE = "0"


def _with_sample_values(template: str) -> dict[str, str]:
    return dict.fromkeys(find_variables(template), _SAMPLE_VALUE)


def validate_body_template(body_type: str, template: str) -> None:
    """Raise TemplateError unless `template` is a usable body of `body_type`.

    Rendering escapes values, so a template that is valid with sample values is valid with
    any values.
    """
    if body_type not in BODY_TYPES:
        raise TemplateError(f"The body type {body_type!r} is unknown; choose one of {', '.join(BODY_TYPES)}.")
    if body_type == "none":
        return
    template = template or ""
    if not template.strip():
        raise TemplateError(f"The {body_type.upper()} body is empty; write a body or choose body type none.")
    if body_type == "json":
        _validate_json_body(template)
    elif body_type == "xml":
        _validate_xml_body(template)
    else:
        _validate_form_body(template)


def _validate_json_body(template: str) -> None:
    rendered = render_json(template, _with_sample_values(template))
    try:
        loads_strict(rendered)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"The JSON body is not valid JSON: {exc.msg} on line {exc.lineno}.") from None
    except (ValueError, RecursionError) as exc:
        raise TemplateError(f"The JSON body is not valid JSON: {exc}.") from None


def _validate_xml_body(template: str) -> None:
    _, names = _split(template)
    for name, state in zip(names, _xml_states(template), strict=True):
        if state not in _XML_DATA_STATES:
            raise TemplateError(
                f"The XML body uses {name} inside a tag or declaration; put variables in "
                "element text or attribute values only."
            )
    rendered = render_xml(template, _with_sample_values(template))
    try:
        parse_xml(rendered)
    except InvalidResponse as exc:
        raise TemplateError(f"The XML body is not well-formed XML: {exc.reason}.") from None


def _validate_form_body(template: str) -> None:
    if "\r" in template or "\n" in template:
        raise TemplateError("The form body has a line break; separate fields with &, for example a=1&b=$call.cli.")
    for number, field in enumerate(template.split("&"), start=1):
        key, equals, _ = field.partition("=")
        if not equals or not key.strip():
            raise TemplateError(
                f"Form field {number} ({field!r}) is not a key=value pair; write fields like a=1&b=$call.cli."
            )
