"""Tests for phonon.lib.extraction: reading JSON and XML answers safely."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from phonon.lib import extraction
from phonon.lib.extraction import (
    MAX_ITEM_VARIABLES,
    InvalidPath,
    InvalidResponse,
    MappingTooLarge,
    answer_tree,
    extract,
    mapping_values,
    nearest_paths,
    parse_response,
    parse_xml,
    path_is_linear,
    read_mappings,
    selects_many,
    tree_paths,
    validate_path,
)

ORDER = {
    "data": {"x": "inner"},
    "a": {"b": [{"c": "deep"}, {"c": 2}]},
    "status": "shipped",
    "items": [
        {"id": 1, "price": 5, "name": "pen"},
        {"id": 2, "price": 15, "name": "ink"},
        {"id": 3, "price": 25, "name": "pad"},
    ],
    "empty": [],
    "total": 2.5,
    "count": 5,
    "paid": True,
    "refunded": False,
    "note": None,
    "customer": {"name": "Zoë", "tags": ["vip"]},
}

ORDER_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<order id="A-17" xmlns:x="urn:x">
  <status>shipped</status>
  <customer><name>Zo\xc3\xab</name><phone type="mobile">+441</phone></customer>
  <items>
    <item sku="p1">pen</item>
    <item sku="p2">ink</item>
    <item sku="p3">pad</item>
  </items>
  <empty/>
  <x:extra>namespaced</x:extra>
</order>"""


def json_values(path: str, save_in: str = "$flow.key.v", document: object = ORDER) -> dict[str, str | None]:
    return mapping_values(save_in, extract(document, path, "json"), many=selects_many(path, "json"))


def xml_values(path: str, save_in: str = "$flow.key.v") -> dict[str, str | None]:
    return mapping_values(save_in, extract(parse_response(ORDER_XML, "xml"), path, "xml"))


# --- parsing JSON answers ------------------------------------------------------------------


def test_it_parses_a_json_answer() -> None:
    assert parse_response(json.dumps(ORDER).encode(), "json") == ORDER


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b"<r/>",
        b'{"a": NaN}',
        b"[Infinity]",
        b"\xff\xfe\xfa",
        b"[" * 100_000,
        b"1" * 5000,
        b'{"a": 1e309}',
    ],
)
def test_it_refuses_an_answer_that_is_not_json(body: bytes) -> None:
    with pytest.raises(InvalidResponse, match="not valid JSON"):
        parse_response(body, "json")


def test_an_unknown_response_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown response type"):
        parse_response(b"{}", "yaml")


# --- parsing XML answers -------------------------------------------------------------------


def test_it_parses_an_xml_answer_to_its_root_element() -> None:
    root = parse_response(ORDER_XML, "xml")
    assert root.tag == "order"
    assert root.findtext("status") == "shipped"


@pytest.mark.parametrize("body", [b"", b"  ", b"<r>", b"{}", b"<r>&nope;</r>", b"<a/><b/>"])
def test_it_refuses_an_answer_that_is_not_xml(body: bytes) -> None:
    with pytest.raises(InvalidResponse, match="not valid XML"):
        parse_response(body, "xml")


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER")
    return path


def leaks(root: etree._Element) -> str:
    """Everything a mapping could read out of a parsed document."""
    texts = [etree.tostring(root, encoding="unicode"), root.xpath("string()")]
    for path in ("/r", "/r/a", "//text()", "//a/node()", "string(//a)"):
        texts.extend(str(v) for v in mapping_values("$flow.key.v", extract(root, path, "xml")).values())
    return "\n".join(texts)


# The parser itself never resolves an entity (the tests below read what it built); on top of
# that parse_response refuses every answer that declares or uses one.


def test_an_external_entity_to_a_local_file_leaks_nothing(secret_file: Path) -> None:
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret_file}">]><r><a>before&xxe;after</a></r>'
    ).encode()
    root = parse_xml(body)
    assert "TOP-SECRET-MARKER" not in leaks(root)
    assert mapping_values("$flow.key.v", extract(root, "/r/a", "xml")) == {"$flow.key.v": "beforeafter"}


def test_an_external_entity_to_etc_passwd_leaks_nothing() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r><a>&xxe;</a></r>'
    assert "root:" not in leaks(parse_xml(body))


def test_an_external_parameter_entity_is_not_loaded(secret_file: Path) -> None:
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file://{secret_file}"> %p;]><r><a>x</a></r>'
    ).encode()
    assert "TOP-SECRET-MARKER" not in leaks(parse_xml(body))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "declares the entity 'x'"),
        (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>plain</r>', "declares the entity 'x'"),
        (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r>x</r>', "declares the entity 'p'"),
        (b'<!DOCTYPE r [<!ENTITY x "harmless">]><r>&x;</r>', "declares the entity 'x'"),
        (b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r>&leak;</r>', "undeclared entity &leak;"),
    ],
)
def test_an_answer_that_declares_or_uses_entities_is_refused(body: bytes, words: str) -> None:
    with pytest.raises(InvalidResponse, match="entities are refused") as raised:
        parse_response(body, "xml")
    assert words in str(raised.value)


def test_a_doctype_without_entities_and_predefined_entities_are_fine() -> None:
    root = parse_response(b'<!DOCTYPE r [<!ELEMENT r ANY>]><r a="&quot;">&amp;&lt;&#65;&#x42;</r>', "xml")
    assert mapping_values("$flow.key.v", extract(root, "/r", "xml")) == {"$flow.key.v": "&<AB"}
    assert extract(root, "string(/r/@a)", "xml") == ['"']


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'<!ENTITY leak "SERVED-BY-ATTACKER">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_external_entities_and_dtds_over_http_are_never_fetched(counting_server: tuple[str, list[str]]) -> None:
    base, hits = counting_server
    bodies = [
        f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{base}/entity">]><r><a>&xxe;</a></r>',
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{base}/param"> %p;]><r><a>&leak;</a></r>',
        f'<!DOCTYPE r SYSTEM "{base}/dtd"><r><a>x</a></r>',
        f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{base}/xinclude"/></r>',
    ]
    for body in bodies:
        try:
            root = parse_response(body.encode(), "xml")
        except InvalidResponse:
            continue
        assert "SERVED-BY-ATTACKER" not in leaks(root)
    assert hits == []


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]><lolz>&lol9;</lolz>'.encode()


def test_a_billion_laughs_answer_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidResponse, match="not valid XML"):
        parse_response(billion_laughs(), "xml")
    assert time.monotonic() - started < 5  # a sanity bound: expansion would take minutes and gigabytes


def test_a_quadratic_blowup_answer_is_refused() -> None:
    body = f'<!DOCTYPE r [<!ENTITY a "{"A" * 50_000}">]><r>{"&a;" * 20_000}</r>'.encode()
    with pytest.raises(InvalidResponse):
        parse_response(body, "xml")


def test_absurdly_deep_nesting_is_refused() -> None:
    body = b"<a>" * 10_000 + b"</a>" * 10_000
    with pytest.raises(InvalidResponse):
        parse_response(body, "xml")


def test_each_thread_has_its_own_xml_parser() -> None:
    mine = extraction._xml_parser()
    assert extraction._xml_parser() is mine
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = pool.submit(extraction._xml_parser).result()
    assert theirs is not mine


def test_parsing_and_extracting_from_many_threads_at_once_gives_the_right_answers() -> None:
    def work(n: int) -> dict[str, str | None]:
        body = f"<r><n>{n}</n><items>{'<i>x</i>' * (n % 7)}</items></r>".encode()
        root = parse_response(body, "xml")
        return mapping_values("$flow.key.n", extract(root, "/r/n", "xml")) | mapping_values(
            "$flow.key.c", extract(root, "count(//i)", "xml")
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(400)))
    assert results == [{"$flow.key.n": str(n), "$flow.key.c": str(n % 7)} for n in range(400)]


# --- JSON paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["data", "data.a.b[0].c", "data[0].x", "data.items[*].id", "data..id", "data.items[?price > 10].id",
     "data.items[?(@.name == 'ink')].price", "data['a'].b", "data.items[-1:]", "data.items.`len`"],
)  # fmt: skip
def test_it_accepts_json_paths_rooted_at_data(path: str) -> None:
    validate_path(path, "json")


@pytest.mark.parametrize("path", ["a.b", "$.a", "x.a", "database.x", "datum", " data.a", "", ".data"])
def test_a_json_path_must_start_at_data(path: str) -> None:
    with pytest.raises(InvalidPath) as raised:
        validate_path(path, "json")
    assert repr(path) in str(raised.value)
    assert "must start with data" in str(raised.value)


@pytest.mark.parametrize("path", ["data.[", "data.a[", "data.a]]", "data.items[?price >]", "data.a b"])
def test_a_malformed_json_path_is_refused_naming_the_path(path: str) -> None:
    with pytest.raises(InvalidPath) as raised:
        validate_path(path, "json")
    assert repr(path) in str(raised.value)
    assert "not a valid JSON path" in str(raised.value)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("data.status * 100000000", "arithmetic"),
        ("data.count + data.count", "arithmetic"),
        ('data.items[?name =~ "(a+)+$"]', "regular expression"),
        ("data.status.`sub(/(a+)+$/, x)`", "regular expression"),
    ],
)
def test_json_path_features_that_could_exhaust_the_worker_are_refused(path: str, words: str) -> None:
    with pytest.raises(InvalidPath, match=words):
        validate_path(path, "json")


def test_no_json_path_syntax_runs_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for path in (
        f"data[?(__import__('os').system('touch {marker}'))]",
        f"data.`eval(open('{marker}', 'w'))`",
    ):
        with pytest.raises(InvalidPath):
            validate_path(path, "json")
    assert not marker.exists()


def test_parsed_json_paths_are_cached() -> None:
    assert extraction._compiled_json_path("data.items[0].id") is extraction._compiled_json_path("data.items[0].id")


def test_data_is_the_answer_root_not_a_wrapper_key() -> None:
    assert json_values("data.data.x") == {"$flow.key.v": "inner"}
    assert json_values("data.x") == {"$flow.key.v": None}
    assert json_values("data[0].x", document=[{"x": "first"}]) == {"$flow.key.v": "first"}


def test_a_path_that_matches_nothing_gives_no_matches() -> None:
    assert extract(ORDER, "data.nothing.here", "json") == []
    assert extract(ORDER, "data.items[7].id", "json") == []
    assert extract("plain string", "data.a", "json") == []


def test_a_filter_selects_matching_items() -> None:
    assert extract(ORDER, "data.items[?price > 10].name", "json") == ["ink", "pad"]


def test_a_filter_comparing_unlike_types_is_no_match_rather_than_a_crash() -> None:
    assert extract({"items": [{"p": "x"}, {"p": 1}]}, "data.items[?p > 10].p", "json") == []


# --- XML paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/order/status", "//item[2]/@sku", "count(//item)", "string(/order/@id)", "//item/text()", "boolean(//x)"]
)
def test_it_accepts_xpaths(path: str) -> None:
    validate_path(path, "xml")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("//[", "is not valid"),
        ("/order/", "is not valid"),
        ("", "empty"),
        ("//x:extra", "cannot be evaluated"),
        ("nosuchfunction(1)", "cannot be evaluated"),
        ("re:test(//a, 'a+')", "cannot be evaluated"),
    ],
)
def test_an_invalid_xpath_is_refused_naming_the_problem(path: str, words: str) -> None:
    with pytest.raises(InvalidPath, match=words):
        validate_path(path, "xml")


def test_compiled_xpaths_are_cached_per_thread() -> None:
    mine = extraction._compiled_xpath("/order/status")
    assert extraction._compiled_xpath("/order/status") is mine
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = pool.submit(extraction._compiled_xpath, "/order/status").result()
    assert theirs is not mine


def test_an_unknown_response_type_in_paths_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown response type"):
        validate_path("data", "yaml")
    with pytest.raises(ValueError, match="Unknown response type"):
        extract({}, "data", "yaml")


# --- mapping values: JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("data.status", "shipped"),
        ("data.a.b[0].c", "deep"),
        ("data.a.b[1].c", "2"),
        ("data.count", "5"),
        ("data.total", "2.5"),
        ("data.paid", "true"),
        ("data.refunded", "false"),
        ("data.note", None),
        ("data.customer.name", "Zoë"),
        ("data.customer", '{"name":"Zoë","tags":["vip"]}'),
    ],
)
def test_one_json_match_stores_its_text(path: str, text: str | None) -> None:
    assert json_values(path) == {"$flow.key.v": text}


def test_a_json_array_is_stored_as_compact_json_with_count_and_items() -> None:
    assert json_values("data.a.b", "$flow.key.items") == {
        "$flow.key.items": '[{"c":"deep"},{"c":2}]',
        "$flow.key.items_count": "2",
        "$flow.key.items_0": '{"c":"deep"}',
        "$flow.key.items_1": '{"c":2}',
    }


def test_several_json_matches_are_stored_as_an_array() -> None:
    assert json_values("data.items[*].id", "$flow.key.ids") == {
        "$flow.key.ids": "[1,2,3]",
        "$flow.key.ids_count": "3",
        "$flow.key.ids_0": "1",
        "$flow.key.ids_1": "2",
        "$flow.key.ids_2": "3",
    }


def test_a_huge_array_makes_item_variables_for_its_first_thousand_items_only() -> None:
    values = mapping_values("$flow.key.n", [list(range(MAX_ITEM_VARIABLES + 500))])

    assert values["$flow.key.n_count"] == str(MAX_ITEM_VARIABLES + 500)
    assert values["$flow.key.n_999"] == "999" and "$flow.key.n_1000" not in values
    assert len(values) == MAX_ITEM_VARIABLES + 2  # the JSON (every item) and the count besides


def nested_json(depth: int, text_size: int) -> bytes:
    return json.dumps(functools.reduce(lambda inner, _: {"a": inner}, range(depth), "x" * text_size)).encode()


@pytest.mark.parametrize(
    ("body", "response_type", "whole", "nested"),
    [
        # Each match holds every one inside it: the text is stored 250 times over.
        (("<item>" * 250 + "x" * 100_000 + "</item>" * 250).encode(), "xml", "/item", "//item"),
        (nested_json(250, 100_000), "json", "data.a", "data..*"),
    ],
)
def test_matches_nested_in_one_another_cannot_multiply_the_answer(body, response_type, whole, nested) -> None:
    mappings = [{"save_in": "$flow.key.whole", "path": whole}, {"save_in": "$flow.key.nested", "path": nested}]

    with pytest.raises(MappingTooLarge) as refused:
        read_mappings(body, response_type, mappings)

    assert isinstance(refused.value, InvalidResponse)  # the widget fails with INVALID_RESPONSE
    limit = max(8 * len(body), 4 * 1024 * 1024)
    assert str(refused.value).startswith(f"The mappings would store more than {limit:,} bytes of text")
    assert "past the limit at $flow.key.nested" in str(refused.value)


def test_the_limit_counts_bytes_as_the_answer_does() -> None:
    body = ("<r>" + "\N{GRINNING FACE}" * 50_000 + "</r>").encode()  # 200 kB, four bytes a character
    mappings = [{"save_in": f"$flow.key.r{n}", "path": "/r"} for n in range(21)]  # 4.2 MB, 1.05 M characters

    with pytest.raises(MappingTooLarge):
        read_mappings(body, "xml", mappings)
    assert read_mappings(body, "xml", mappings[:20])[1] == []


def test_the_whole_answer_may_be_mapped_several_ways() -> None:
    body = json.dumps({"items": [{"id": n, "name": "item " * 20} for n in range(2000)]}).encode()
    mappings = [
        {"save_in": "$flow.key.all", "path": "data"},
        {"save_in": "$flow.key.items", "path": "data.items"},
        {"save_in": "$flow.key.each", "path": "data.items[*]"},
        {"save_in": "$flow.key.names", "path": "data.items[*].name"},
    ]

    values, unmatched = read_mappings(body, "json", mappings)

    assert values["$flow.key.all"] == json.dumps(json.loads(body), separators=(",", ":"))
    assert values["$flow.key.items_count"] == values["$flow.key.each_count"] == "2000"
    assert unmatched == []


def test_read_mappings_sets_each_variable_and_lists_what_found_nothing() -> None:
    values, unmatched = read_mappings(
        ORDER_XML,
        "xml",
        [
            {"save_in": "$flow.key.s", "path": "/order/status"},
            {"save_in": "$flow.key.n", "path": "/nope", "mandatory": True},
        ],
    )

    assert values == {"$flow.key.s": "shipped", "$flow.key.n": None}
    assert unmatched == [{"save_in": "$flow.key.n", "path": "/nope", "mandatory": True}]


def test_several_mixed_json_matches_keep_their_json_types() -> None:
    document = {"v": ["a", 1, True, None, {"k": "v"}, [1]]}
    assert json_values("data.v[*]", document=document) == {
        "$flow.key.v": '["a",1,true,null,{"k":"v"},[1]]',
        "$flow.key.v_count": "6",
        "$flow.key.v_0": "a",
        "$flow.key.v_1": "1",
        "$flow.key.v_2": "true",
        "$flow.key.v_3": None,
        "$flow.key.v_4": '{"k":"v"}',
        "$flow.key.v_5": "[1]",
    }


def test_an_empty_array_stores_a_zero_count() -> None:
    assert json_values("data.empty") == {"$flow.key.v": "[]", "$flow.key.v_count": "0"}


ONE_ITEM = {"items": [{"sku": "a1", "tags": ["x"]}], "empty": [], "a": {"b": "c"}}


@pytest.mark.parametrize(
    "path",
    ["data.items[*].sku", "data.items[*]", "data.items.*", "data.a.*", "data.items[0:].sku", "data.items[-1:].sku",
     "data..sku", "data.items[?sku = 'a1'].sku", "data.items[?(@.sku == 'a1')].sku", "data.items[0,5].sku",
     "data.a['b','z']", "data.items[*].tags[0]"],
)  # fmt: skip
def test_a_path_that_can_select_several_values_stores_an_array_even_for_one_match(path: str) -> None:
    assert selects_many(path, "json")
    values = json_values(path, document=ONE_ITEM)
    assert values["$flow.key.v_count"] == "1"
    assert len(json.loads(values["$flow.key.v"])) == 1
    assert set(values) == {"$flow.key.v", "$flow.key.v_count", "$flow.key.v_0"}


def test_one_wildcard_match_is_the_one_item_of_the_array() -> None:
    assert json_values("data.items[*].sku", "$flow.key.skus", document=ONE_ITEM) == {
        "$flow.key.skus": '["a1"]',
        "$flow.key.skus_count": "1",
        "$flow.key.skus_0": "a1",
    }
    # A single match that is itself an array is one item, not the array spread out.
    assert json_values("data.items[*].tags", document=ONE_ITEM) == {
        "$flow.key.v": '[["x"]]',
        "$flow.key.v_count": "1",
        "$flow.key.v_0": '["x"]',
    }


def test_a_path_that_can_select_several_values_but_matches_none_is_null_with_a_zero_count() -> None:
    assert extract(ONE_ITEM, "data.empty[*].sku", "json") == []
    assert json_values("data.empty[*].sku", document=ONE_ITEM) == {"$flow.key.v": None, "$flow.key.v_count": "0"}
    assert json_values("data.items[?sku = 'zz'].sku", document=ONE_ITEM) == {
        "$flow.key.v": None,
        "$flow.key.v_count": "0",
    }


@pytest.mark.parametrize(
    "path", ["data", "data.status", "data.a.b[0].c", "data.items[-1]", "data['status']", "data.items.`len`", "data.a"]
)
def test_a_path_that_names_one_value_stays_a_scalar(path: str) -> None:
    assert not selects_many(path, "json")
    assert set(json_values(path)) == {"$flow.key.v"}


def test_xpaths_are_judged_by_their_result_not_their_syntax() -> None:
    assert not selects_many("//item", "xml")
    assert xml_values("//item[@sku='p2']") == {"$flow.key.v": "ink"}
    assert xml_values("//item")["$flow.key.v_count"] == "3"


def test_no_match_sets_the_variable_to_none() -> None:
    assert json_values("data.missing") == {"$flow.key.v": None}


def test_the_whole_answer_can_be_mapped() -> None:
    assert json_values("data", document={"a": 1}) == {"$flow.key.v": '{"a":1}'}


# --- mapping values: XML -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/order/status", "shipped"),
        ("/order/customer/name", "Zoë"),
        ("/order/@id", "A-17"),
        ("//phone/@type", "mobile"),
        ("/order/status/text()", "shipped"),
        ("count(//item)", "3"),
        ("count(//item) div 2", "1.5"),
        ("string(/order/@id)", "A-17"),
        ("boolean(//item)", "true"),
        ("boolean(//nothing)", "false"),
        ("/order/empty", ""),
        ("//*[local-name()='extra']", "namespaced"),
    ],
)
def test_one_xml_match_stores_its_text(path: str, text: str) -> None:
    assert xml_values(path) == {"$flow.key.v": text}


def test_an_xml_element_with_children_stores_its_serialized_xml() -> None:
    # The namespace declared on an ancestor travels with it, so the fragment parses on its own.
    assert xml_values("/order/customer") == {
        "$flow.key.v": '<customer xmlns:x="urn:x"><name>Zoë</name><phone type="mobile">+441</phone></customer>'
    }


def test_several_xml_matches_are_stored_as_an_array_of_texts() -> None:
    assert xml_values("//item", "$flow.key.items") == {
        "$flow.key.items": '["pen","ink","pad"]',
        "$flow.key.items_count": "3",
        "$flow.key.items_0": "pen",
        "$flow.key.items_1": "ink",
        "$flow.key.items_2": "pad",
    }
    assert xml_values("//item/@sku", "$flow.key.skus")["$flow.key.skus"] == '["p1","p2","p3"]'


def test_an_xml_path_that_matches_nothing_sets_none() -> None:
    assert extract(parse_response(ORDER_XML, "xml"), "/order/missing", "xml") == []
    assert xml_values("/order/missing") == {"$flow.key.v": None}


# --- answer_tree and nearest_paths (testing a widget) --------------------------------------


def test_every_path_in_a_json_answer_tree_selects_its_node():
    document = parse_response(
        b'{"data": {"order": {"status": "shipped", "items": [{"sku": "a1"}], "odd key": 1}}}', "json"
    )
    tree = answer_tree(document, "json")

    paths = list(tree_paths(tree))
    assert paths[:4] == ["data", "data.data", "data.data.order", "data.data.order.status"]
    assert 'data.data.order["odd key"]' in paths
    for path in paths:
        assert extract(document, path, "json"), path
    status = tree["children"][0]["children"][0]["children"][0]
    assert status == {"label": "status", "path": "data.data.order.status", "value": "shipped", "children": []}


def test_every_path_in_an_xml_answer_tree_selects_its_node():
    document = parse_response(
        b'<order id="7"><status>ok</status><items><item sku="a"/><item sku="b"/></items></order>', "xml"
    )
    tree = answer_tree(document, "xml")

    paths = list(tree_paths(tree))
    assert paths == [
        "/order", "/order/@id", "/order/status", "/order/items",
        "/order/items/item[1]", "/order/items/item[1]/@sku", "/order/items/item[2]", "/order/items/item[2]/@sku",
    ]  # fmt: skip
    for path in paths:
        assert len(extract(document, path, "xml")) == 1, path


def test_a_big_answer_tree_is_cut_off_and_says_so():
    tree = answer_tree(list(range(50)), "json", max_nodes=10)
    assert len(tree["children"]) == 9 and tree["truncated"] is True


def test_the_nearest_paths_end_in_the_same_names_first():
    tree = answer_tree({"data": {"order": {"status": "x", "state": "y"}}, "status": 1}, "json")
    assert nearest_paths("data.order.status", tree)[0] == "data.data.order.status"
    assert set(nearest_paths("data.order.stat", tree)[:2]) == {"data.data.order.status", "data.data.order.state"}
    assert nearest_paths("data.zzz", answer_tree({"a": 1}, "json")) == []


LINEAR_PATHS = [
    *(
        ("xml", path)
        for path in ("/order/status", "//status", "/order/@id", "//item[@sku='p2']", "/order/items/item[1]")
    ),
    *(("xml", path) for path in ("count(//item)", "string(/order/status)", "//x:status", "//item[position() < 3]")),
    *(("xml", path) for path in ("/a/b/text()", "//a/b", "//*/*", "//item[name='pen']/@sku", "item[last()]")),
    *(("json", path) for path in ("data", "data.order.status", "data.items[*].name", "data..id", "data..*")),
    *(("json", path) for path in ("data.items[?(@.id == 3)].name", "data.items[1:3]", "data.b[0:2].c")),
]
COSTLY_PATHS = [
    *(("xml", path) for path in ("//*[count(//*) > 0]", "//a/following::b", "//a[preceding-sibling::a]")),
    *(("xml", path) for path in ("//a[. = //b]", "id('x')", "//a[count(b) > 1]", "//a[b/c = 'x']")),
    # Overlapping steps, merged without duplicates (quadratic inside libxml2), and repeated nodes.
    *(("xml", path) for path in ("count(//a//b)", "count(//b/../b/..)", "//*//*", "/r//a", "//a/..")),
    *(("json", path) for path in ("data..a..b", "data..*[?(@..x > 1)]", "data.items.`len`")),
    *(("json", path) for path in ("data['a','a']", "data[0,0]", "data[0,-1]")),
    pytest.param("json", "data.(@|@).(@|@)", marks=pytest.mark.filterwarnings("ignore:The `|` (union) operator")),
]


@pytest.mark.parametrize(("response_type", "path"), LINEAR_PATHS)
def test_paths_of_the_usual_shapes_are_linear(response_type, path) -> None:
    assert path_is_linear(path, response_type)


@pytest.mark.parametrize(("response_type", "path"), COSTLY_PATHS)
def test_paths_that_search_again_from_each_node_are_not_linear(response_type, path) -> None:
    assert not path_is_linear(path, response_type)
