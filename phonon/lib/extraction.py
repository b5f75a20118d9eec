"""Read values out of a webhook's JSON or XML answer: the one place that parses answers.

JSON paths use the product's `data` root (`data.items[0].id`) and are evaluated by
jsonpath-ng's extended parser; XML paths are XPath 1.0 evaluated by lxml. Paths are compiled
once and cached, because parsing a path costs far more than evaluating it.

XML is parsed with a parser that resolves no entities, loads no DTD and never touches the
network, so an answer cannot read local files (XXE) or blow up memory (billion laughs). On
top of that an answer (`parse_response`) whose DTD declares entities, or that refers to an
entity it never declares, is refused outright as an INVALID_RESPONSE: a legitimate API has no
use for them, and silently dropping the entity would hand the flow a wrong value.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as parse_json_path
from jsonpath_ng.ext.arithmetic import Operation
from jsonpath_ng.ext.filter import Expression, Filter
from jsonpath_ng.ext.string import Sub
from jsonpath_ng.jsonpath import (
    Child,
    Descendants,
    Fields,
    Index,
    Root,
    Slice,
    This,
    Where,
    Wildcard,
    _Intersect,
    _Union,
)
from lxml import etree

from phonon.lib.storable import first_line, storable

RESPONSE_TYPES = ("json", "xml")

# `data` alone, or `data` followed by a child (`.x`), an index (`[0]`) or a descent (`..x`).
# (The designer reads JSON_ROOT_PATTERN to warn as the path is typed.)
JSON_ROOT_PATTERN = r"^data(?=$|[.\[])"
_JSON_ROOT_RE = re.compile(JSON_ROOT_PATTERN)
_PATH_CACHE_SIZE = 1024


class InvalidResponse(Exception):
    """The answer's body is not valid JSON/XML of the declared response type."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message  # the parser's words alone, for other sentences


class InvalidPath(ValueError):
    """A mapping path is malformed; the message names the path and the problem."""


# --- parsing answers -----------------------------------------------------------------------


def parse_response(body: bytes | str, response_type: str) -> Any:
    """Parse an answer: "json" gives a Python object, "xml" the root lxml element."""
    if response_type == "json":
        return parse_json(body)
    if response_type == "xml":
        return _refuse_entities(parse_xml(body))
    raise ValueError(f"Unknown response type {response_type!r}; use json or xml.")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e309 reads as infinity, which no JSON store or reader takes
        raise ValueError(f"{text} is beyond the largest number a JSON reader takes")
    return value


def loads_strict(text: bytes | str) -> Any:
    """json.loads that refuses NaN and Infinity (also as a number too large: 1e309), which other
    JSON readers reject."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def parse_json(body: bytes | str) -> Any:
    """Strict JSON: NaN/Infinity are refused, and so is nesting too deep to read."""
    try:
        return loads_strict(body)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, bad UTF-8 and over-long integers.
        reason = first_line(exc).rstrip(".")
        raise InvalidResponse(f"The answer is not valid JSON: {reason}.", reason) from None


_thread_state = threading.local()


def _xml_parser() -> etree.XMLParser:
    """One parser per thread: lxml parsers keep state and must not be shared across threads."""
    parser = getattr(_thread_state, "xml_parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        _thread_state.xml_parser = parser
    return parser


def parse_xml(body: bytes | str) -> etree._Element:
    """Parse XML safely: entities stay unexpanded, no DTD or network, bombs are refused."""
    if isinstance(body, str):
        # lxml refuses str input that carries an encoding declaration; bytes always work.
        body = body.encode("utf-8")
    if not body.strip():
        raise InvalidResponse("The answer is not valid XML: it is empty.", "it is empty")
    try:
        return etree.fromstring(body, _xml_parser())
    except etree.XMLSyntaxError as exc:
        reason = first_line(exc).rstrip(".")
        raise InvalidResponse(f"The answer is not valid XML: {reason}.", reason) from None


def _refuse_entities(root: etree._Element) -> etree._Element:
    """`root`, unless its document declares or uses entities (never resolved, only looked at).

    The predefined ones (&amp; &lt; …) and character references are plain text by then.
    """
    dtd = root.getroottree().docinfo.internalDTD
    declared = [entity.name for entity in dtd.iterentities()] if dtd is not None else []
    if declared:
        reason = f"it declares the entity {declared[0]!r}, and entities are refused"
        raise InvalidResponse(f"The answer is not valid XML for a webhook: {reason}.", reason)
    used = next(root.iter(etree.Entity), None)
    if used is not None:
        reason = f"it uses the undeclared entity {used.text}, and entities are refused"
        raise InvalidResponse(f"The answer is not valid XML for a webhook: {reason}.", reason)
    return root


# --- paths ---------------------------------------------------------------------------------


def validate_path(path: str, response_type: str) -> None:
    """Raise InvalidPath when `path` cannot be used as a mapping of this response type."""
    if response_type == "json":
        _compiled_json_path(path)
    elif response_type == "xml":
        xpath = _compiled_xpath(path)
        try:
            # Unknown functions and namespace prefixes only show when the path is evaluated.
            xpath(etree.Element("probe"))
        except etree.XPathError as exc:
            raise InvalidPath(f"The XPath {path!r} cannot be evaluated: {exc}.") from None
    else:
        raise ValueError(f"Unknown response type {response_type!r}; use json or xml.")


@functools.lru_cache(maxsize=_PATH_CACHE_SIZE)
def _compiled_json_path(path: str) -> JSONPath:
    if not _JSON_ROOT_RE.match(path):
        raise InvalidPath(f"The path {path!r} must start with data (the response root), for example data.items[0].id.")
    # `data` is the root itself, not a key: an answer with its own "data" key reads data.data.
    expression = "$" + path[len("data") :]
    try:
        compiled = parse_json_path(expression)
    except (JsonPathParserError, JsonPathLexerError) as exc:
        raise InvalidPath(f"The path {path!r} is not a valid JSON path: {exc}.") from None
    except Exception as exc:  # the ply-based parser raises assorted errors on odd input
        raise InvalidPath(f"The path {path!r} is not a valid JSON path: {exc}.") from None
    _refuse_costly_json_operators(path, compiled)
    return compiled


def _refuse_costly_json_operators(path: str, compiled: JSONPath) -> None:
    """Refuse arithmetic and regular expressions.

    They are the only parts of the extended syntax that can exhaust the worker: `data.s * 1e9`
    repeats a string a billion times and a backtracking regex can run for hours.
    """
    for node in _json_path_nodes(compiled):
        if isinstance(node, Operation):
            raise InvalidPath(f"The path {path!r} uses arithmetic, which is not supported.")
        if isinstance(node, Sub) or (isinstance(node, Expression) and node.op == "=~"):
            raise InvalidPath(f"The path {path!r} uses a regular expression, which is not supported.")


def _json_path_nodes(node: Any) -> Iterator[Any]:
    yield node
    children = vars(node).values() if isinstance(node, JSONPath) else node
    for child in children:
        if isinstance(child, (JSONPath, list, tuple)):
            yield from _json_path_nodes(child)


def selects_many(path: str, response_type: str) -> bool:
    """True when a JSON path can select several values, so its result is always an array.

    That is a path with a wildcard (`[*]`, `.*`), a slice (`[1:]`), a filter (`[?…]`), a
    recursive descent (`..`), a union (`[0,1]`, `['a','b']`, `|`) or an intersection: its
    mapping stores an array even for one match (or `<name>_count` "0" for none), so a flow
    reading `<name>_count`/`<name>_0` works whatever the answer's length. A path naming one
    value (`data.a.b[0].c`) selects at most one. XPaths are judged by their result instead
    (every location path is a node-set, so the syntax says nothing): always False here.
    """
    if response_type != "json":
        return False
    return _json_path_selects_many(_compiled_json_path(path))


@functools.lru_cache(maxsize=_PATH_CACHE_SIZE)
def path_is_linear(path: str, response_type: str) -> bool:
    """True when reading `path` takes time in proportion to the answer (times its depth at most).

    Conservative: a path of any other shape may be harmless, and is only read where it can be
    stopped (phonon.lib.mapping_sandbox). What multiplies is a path searched again from every
    node (`//*[count(//*) > 0]`, `following::`, `data..a..b`), steps whose results overlap and
    must be merged without duplicates (`//a//b`, `//b/..`: quadratic inside libxml2), and
    selections that repeat a node (`data.(@|@).(@|@)…`, `data['a','a']…`: exponential).

    - JSON: at most one recursive descent (`..`), one name or index a step (or a wildcard or a
      slice), and filters that compare a relative path with a value.
    - XPath: a location path with at most one `//`, as its first step, then child steps (`/`),
      whose predicates test a position, an attribute or a child against a literal; alone or
      inside count(), string() and the like.
    """
    if response_type == "xml":
        return _LINEAR_XPATH_RE.fullmatch(path) is not None
    try:
        nodes = list(_json_path_nodes(_compiled_json_path(path)))
    except InvalidPath:
        return True  # read_mappings finds nothing for it, at once
    descents = sum(isinstance(node, Descendants) for node in nodes)
    return descents <= 1 and all(_json_node_is_linear(node) for node in nodes)


def _json_node_is_linear(node: Any) -> bool:
    if isinstance(node, Fields):
        return len(node.fields) == 1
    if isinstance(node, Index):
        return len(node.indices) == 1
    return isinstance(node, _LINEAR_JSON_NODES)


_LINEAR_JSON_NODES = (
    Root,
    This,
    Child,
    Fields,
    Index,
    Slice,
    Wildcard,
    Descendants,
    Filter,
    Expression,
    list,
    tuple,
)
_NAME = r"[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?"
_OPERAND = rf"(?:@{_NAME}|{_NAME}|text\(\)|\.)"
_LITERAL = r"(?:'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)"
_PREDICATE = (
    rf"\[\s*(?:\d+|last\(\)|position\(\)\s*(?:[<>]=?|!?=)\s*\d+|{_OPERAND}(?:\s*(?:!?=|[<>]=?)\s*{_LITERAL})?)\s*\]"
)
_STEP = rf"(?:{_NAME}|\*|[A-Za-z_][\w.-]*:\*|@(?:{_NAME}|\*)|text\(\)|node\(\)|comment\(\)|\.)(?:\s*{_PREDICATE})*"
_LOCATION_PATH = rf"(?://?\s*)?{_STEP}(?:\s*/\s*{_STEP})*|/"
_FUNCTIONS = r"count|string|normalize-space|number|boolean|sum|name|local-name|string-length"
_LINEAR_XPATH_RE = re.compile(rf"\s*(?:{_LOCATION_PATH}|(?:{_FUNCTIONS})\(\s*(?:{_LOCATION_PATH})?\s*\))\s*")
_MANY_NODES = (Wildcard, Slice, Filter, Descendants, Where, _Union, _Intersect)


def _json_path_selects_many(node: JSONPath) -> bool:
    if isinstance(node, _MANY_NODES):
        return True
    if isinstance(node, Fields):
        return len(node.fields) > 1
    if isinstance(node, Index):
        return len(node.indices) > 1
    if isinstance(node, Child):
        return _json_path_selects_many(node.left) or _json_path_selects_many(node.right)
    return False  # Root, This, Parent, `len`, `sorted`, `keys`…: one value


def _compiled_xpath(path: str) -> etree.XPath:
    """Compiled XPaths are cached per thread: lxml evaluators must not be shared by threads."""
    cache: Callable[[str], etree.XPath] | None = getattr(_thread_state, "xpath_cache", None)
    if cache is None:
        cache = functools.lru_cache(maxsize=_PATH_CACHE_SIZE)(_compile_xpath)
        _thread_state.xpath_cache = cache
    return cache(path)


def _compile_xpath(path: str) -> etree.XPath:
    if not path.strip():
        raise InvalidPath("The XPath is empty; write one such as /order/status.")
    try:
        # No EXSLT regular expressions (no backtracking bombs); plain str results.
        return etree.XPath(path, regexp=False, smart_strings=False)
    except etree.XPathSyntaxError as exc:
        raise InvalidPath(f"The XPath {path!r} is not valid: {exc}.") from None


# --- extraction ----------------------------------------------------------------------------


def extract(document: Any, path: str, response_type: str) -> list:
    """Every value `path` selects in the parsed answer; an empty list when it selects nothing.

    XPath expressions that compute a scalar (count(), string(), boolean()) give a one-item list.
    """
    if response_type == "json":
        compiled = _compiled_json_path(path)
        try:
            return [match.value for match in compiled.find(document)]
        except Exception:
            # A filter comparing unlike types, say, is no match rather than a crash.
            return []
    if response_type == "xml":
        xpath = _compiled_xpath(path)
        try:
            result = xpath(document)
        except etree.XPathError as exc:
            raise InvalidPath(f"The XPath {path!r} cannot be evaluated: {exc}.") from None
        return result if isinstance(result, list) else [result]
    raise ValueError(f"Unknown response type {response_type!r}; use json or xml.")


def read_mappings(
    body: bytes | str, response_type: str, mappings: list[Mapping[str, Any]]
) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """Parse an answer and apply a widget's mappings to it: the variables they set, and the
    mappings that found nothing (SPEC §13: `unmatched`).

    Raises InvalidResponse for an answer that is not of its type, and MappingTooLarge for
    mappings whose values would add up to more than MappedTextBudget allows from this answer.
    """
    document = parse_response(body, response_type)
    budget = MappedTextBudget(len(body))
    values: dict[str, str | None] = {}
    unmatched: list[dict[str, Any]] = []
    for mapping in mappings:
        try:
            matches = extract(document, mapping["path"], response_type)
            many = selects_many(mapping["path"], response_type)
        except InvalidPath:
            # A path this answer cannot evaluate (an unbound namespace, say) finds nothing.
            matches, many = [], False
        if all(match is None for match in matches):
            unmatched.append(
                {"save_in": mapping["save_in"], "path": mapping["path"], "mandatory": bool(mapping.get("mandatory"))}
            )
        values.update(mapping_values(mapping["save_in"], matches, many=many, budget=budget))
    return values, unmatched


class MappingTooLarge(InvalidResponse):
    """The values a widget's mappings would store exceed their MappedTextBudget."""


class MappedTextBudget:
    """How much text a widget's mappings may store from one answer: eight times its size, 4 MiB at least.

    Nested matches repeat text: `//item` on items nested 250 deep around 1 MB of text stores each
    item's markup, the innermost text 250 times over (500 MB of variables from a 1 MiB answer),
    and `data..*` does the same to nested JSON. Mapping the whole answer as an array costs about
    twice its size (the JSON, and each item's text); eight times leaves room for a few such
    mappings, and none for a blow-up (or for fifty mappings of the whole answer).
    """

    def __init__(self, answer_size: int) -> None:
        self.answer_size = answer_size
        self.limit = self.left = max(8 * answer_size, 4 * 1024 * 1024)

    def spend(self, text: str | None, save_in: str) -> str | None:
        # Counted in UTF-8 bytes, as the answer is: an emoji is one character and four bytes.
        self.left -= len((text or "").encode("utf-8", "surrogatepass"))
        if self.left < 0:
            raise MappingTooLarge(
                f"The mappings would store more than {self.limit:,} bytes of text from this {self.answer_size:,}-byte "
                f"answer, past the limit at {save_in} (matches nested in one another repeat their text): "
                "map narrower paths."
            )
        return text


MAX_ITEM_VARIABLES = 1000


def mapping_values(
    save_in: str, matches: list, *, many: bool = False, budget: MappedTextBudget | None = None
) -> dict[str, str | None]:
    """The flow variables one mapping sets, as SPEC §6 describes.

    No match sets the variable to None. One scalar stores its text; one object stores compact
    JSON. An array, or several matches, stores compact JSON plus `<name>_count` and
    `<name>_0`, `<name>_1`, … holding each item's text, for the first MAX_ITEM_VARIABLES items
    (`_count` and the JSON keep them all; a 1 MiB answer of `[0,0,…]` would make half a million).

    `many` (see `selects_many`) says the path can select several values: then the matches are
    always the array, even one (`["a1"]`, `_count` "1", `_0` "a1"); no match still sets the
    variable to None, with `_count` "0" so a count left by an earlier answer is not reused.

    Every value is `storable` text: a NUL or lone surrogate in the answer becomes U+FFFD. With a
    `budget`, each value's text is counted against it as it is made (MappingTooLarge past it).
    """
    budget = budget or MappedTextBudget(math.inf)
    return {
        name: None if value is None else storable(value)
        for name, value in _mapping_values(save_in, matches, many, budget).items()
    }


def _mapping_values(save_in: str, matches: list, many: bool, budget: MappedTextBudget) -> dict[str, str | None]:
    if many:
        if not matches:
            return {save_in: None, f"{save_in}_count": "0"}
        items = matches
    elif not matches:
        return {save_in: None}
    elif len(matches) == 1 and not isinstance(matches[0], list):
        return {save_in: budget.spend(value_text(matches[0]), save_in)}
    else:
        items = matches[0] if len(matches) == 1 else matches
    pieces, texts = [], {}
    for index, item in enumerate(items):
        json_item = _json_item(item)
        pieces.append(budget.spend(compact_json(json_item), save_in))
        if index < MAX_ITEM_VARIABLES:
            # An item's text is made once: itself for text, its JSON for objects and arrays.
            if isinstance(json_item, str):
                text = json_item
            else:
                text = pieces[-1] if isinstance(json_item, (dict, list)) else value_text(item)
            texts[f"{save_in}_{index}"] = budget.spend(text, save_in)
    return {save_in: f"[{','.join(pieces)}]", f"{save_in}_count": str(len(items)), **texts}


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def value_text(value: Any) -> str | None:
    """A matched value as a flow variable's text (None for JSON null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)  # also turns lxml's string results into plain str
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dict, list)):
        return compact_json(value)
    if isinstance(value, etree._Element):
        return _element_text(value)
    return str(value)


def _json_item(value: Any) -> Any:
    """JSON values go into the array as they are; XML nodes as their text."""
    if value is None or isinstance(value, (bool, int, dict, list)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _number_text(value)
    return value_text(value)


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))  # XPath numbers are floats: count() gives 3.0, stored as "3"
    return repr(value)


def _element_text(element: etree._Element) -> str:
    if isinstance(element.tag, str) and any(isinstance(child.tag, str) for child in element):
        return etree.tostring(element, encoding="unicode", with_tail=False)
    if not isinstance(element.tag, str):
        # Comments and processing instructions: their own text.
        return element.text or ""
    # string() reads text nodes only: an unexpanded external entity contributes nothing.
    return element.xpath("string()")


# --- the answer as a tree of paths (testing a widget, SPEC §13) ----------------------------

MAX_TREE_NODES = 2000
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_@-]+")


def answer_tree(document: Any, response_type: str, max_nodes: int = MAX_TREE_NODES) -> dict[str, Any]:
    """The parsed answer as nested nodes `{label, path, value, children}`, each `path` a mapping
    path that selects that node (`data.order.items[0].sku`, `/order/items/item[1]/@sku`).

    `value` is a leaf's text (None for JSON null and for inner nodes). At most `max_nodes`
    nodes; a node whose children were cut off has `"truncated": true`.
    """
    budget = [max_nodes - 1]
    if response_type == "json":
        return _json_node("data", "data", document, budget)
    if response_type == "xml":
        return _xml_node(document, budget)
    raise ValueError(f"Unknown response type {response_type!r}; use json or xml.")


def _json_child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER_RE.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]" if '"' not in key else f"{path}['{key}']"


def _json_node(label: str, path: str, value: Any, budget: list[int]) -> dict[str, Any]:
    node: dict[str, Any] = {"label": label, "path": path, "value": None, "children": []}
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        node["value"] = value_text(value)
        return node
    for key, child in items:
        if budget[0] <= 0:
            node["truncated"] = True
            break
        budget[0] -= 1
        node["children"].append(
            _json_node(f"[{key}]" if isinstance(key, int) else key, _json_child_path(path, key), child, budget)
        )
    return node


def _xml_node(element: etree._Element, budget: list[int]) -> dict[str, Any]:
    tree = element.getroottree()
    path = tree.getpath(element)
    node: dict[str, Any] = {"label": f"<{etree.QName(element).localname}>", "path": path, "value": None, "children": []}
    for name, value in element.attrib.items():
        if budget[0] <= 0:
            node["truncated"] = True
            return node
        budget[0] -= 1
        local = etree.QName(name).localname
        node["children"].append({"label": f"@{local}", "path": f"{path}/@{local}", "value": value, "children": []})
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        node["value"] = _element_text(element)
    for child in children:
        if budget[0] <= 0:
            node["truncated"] = True
            break
        budget[0] -= 1
        node["children"].append(_xml_node(child, budget))
    return node


def tree_paths(tree: dict[str, Any]) -> Iterator[str]:
    """Every path in an `answer_tree`, parents before children."""
    yield tree["path"]
    for child in tree["children"]:
        yield from tree_paths(child)


def nearest_paths(path: str, tree: dict[str, Any], limit: int = 3) -> list[str]:
    """The answer's paths most like `path`, best first: the ones ending in the same names first
    (`data.data.order.status` for `data.order.status`), then by spelling. Empty when nothing is close."""
    wanted = _segments(path)
    if not wanted:
        return []
    scored = []
    for candidate in tree_paths(tree):
        segments = _segments(candidate)
        if candidate == path or not segments:
            continue
        shared = 0
        while shared < min(len(wanted), len(segments)) and wanted[-1 - shared] == segments[-1 - shared]:
            shared += 1
        # How alike the last names are ("stat" and "status"), then the whole spelling.
        leaf = difflib.SequenceMatcher(None, wanted[-1], segments[-1]).ratio()
        if (shared and wanted[-1] != "data") or leaf >= 0.6:
            whole = difflib.SequenceMatcher(None, path, candidate).ratio()
            scored.append((-shared, -leaf, -whole, len(candidate), candidate))
    return [candidate for *_, candidate in sorted(scored)[:limit]]


def _segments(path: str) -> list[str]:
    """Names along a path, without positions: `/order/item[1]/@sku` → [order, item, @sku]."""
    return [segment for segment in _SEGMENT_RE.findall(path) if not segment.isdigit()]
