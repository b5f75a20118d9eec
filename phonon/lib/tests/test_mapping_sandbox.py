"""Tests for phonon.lib.mapping_sandbox: costly mapping paths are read in a reader process, within a time limit."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from phonon.lib import mapping_sandbox
from phonon.lib.extraction import InvalidResponse, read_mappings
from phonon.lib.mapping_sandbox import TooSlowToRead, read_mappings_within

ITEMS = b"<items>" + b"".join(b"<item><id>%d</id></item>" % n for n in range(1, 6)) + b"</items>"
COSTLY = [
    {"save_in": "$flow.key.first", "path": "//item[count(preceding-sibling::item) < 2]/id"},
    {"save_in": "$flow.key.none", "path": "/nothing", "mandatory": True},
]
QUADRATIC = [{"save_in": "$flow.key.all", "path": "//*[count(//*) > 0]"}]  # hours on 100,000 elements
MANY_ELEMENTS = b"<r>" + b"<a/>" * 100_000 + b"</r>"


def test_linear_paths_are_read_in_the_worker(monkeypatch) -> None:
    def no_reader(*args):
        raise AssertionError("a linear path went to a reader process")

    monkeypatch.setattr(mapping_sandbox.readers, "ask", no_reader)
    mappings = [{"save_in": "$flow.key.ids", "path": "//item/id"}, {"save_in": "$flow.key.n", "path": "count(//item)"}]

    assert read_mappings_within(ITEMS, "xml", mappings) == read_mappings(ITEMS, "xml", mappings)


def test_a_costly_path_is_read_by_a_reader_with_the_same_result() -> None:
    values, unmatched = read_mappings_within(ITEMS, "xml", COSTLY)

    assert (values, unmatched) == read_mappings(ITEMS, "xml", COSTLY)
    assert values["$flow.key.first"] == '["1","2"]'
    assert unmatched == [{"save_in": "$flow.key.none", "path": "/nothing", "mandatory": True}]


def test_a_path_still_running_at_the_limit_is_stopped_and_its_reader_replaced(caplog) -> None:
    with pytest.raises(TooSlowToRead) as stopped:
        read_mappings_within(MANY_ELEMENTS, "xml", QUADRATIC, seconds=0.5)

    assert isinstance(stopped.value, InvalidResponse)  # the widget fails with INVALID_RESPONSE
    assert str(stopped.value).startswith(
        "Reading the mappings ($flow.key.all) from this 400,007-byte answer took longer than 0.5 s"
    )
    assert mapping_sandbox.readers._idle == []  # killed, not kept
    assert "stopped after 0.5 s reading '//*[count(//*) > 0]'" in caplog.text  # the operator sees it
    assert read_mappings_within(ITEMS, "xml", COSTLY)[0]["$flow.key.first"] == '["1","2"]'  # a new one reads


def test_an_answer_a_reader_cannot_parse_fails_as_in_the_worker() -> None:
    with pytest.raises(InvalidResponse) as in_worker:
        read_mappings(b"<items", "xml", COSTLY)
    with pytest.raises(InvalidResponse) as in_reader:
        read_mappings_within(b"<items", "xml", COSTLY)

    assert str(in_reader.value) == str(in_worker.value)
    assert in_reader.value.reason == in_worker.value.reason


def test_a_json_path_that_descends_twice_goes_to_a_reader_too() -> None:
    mappings = [{"save_in": "$flow.key.b", "path": "data..a..b"}]
    body = b'{"a": {"a": {"b": 1}}}'

    assert read_mappings_within(body, "json", mappings) == read_mappings(body, "json", mappings)


def test_a_reader_has_none_of_the_workers_environment(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "never-in-a-reader")
    read_mappings_within(ITEMS, "xml", COSTLY)  # a reader is running, idle, after this

    (reader,) = mapping_sandbox.readers._idle
    with open(f"/proc/{reader.pid}/environ", "rb") as environ:
        names = {entry.split(b"=", 1)[0] for entry in environ.read().split(b"\0") if entry}

    assert names <= {b"PATH", b"PYTHONPATH"}
    assert os.environ["SECRET_KEY"] == "never-in-a-reader"


def test_a_worker_holding_thousands_of_descriptors_still_reads(tmp_path) -> None:
    """A worker with 2,000 calls in flight has descriptors numbered past select()'s limit of 1,024."""
    held = [open(tmp_path / "held", "wb") for _ in range(1100)]  # noqa: SIM115 - held open on purpose
    try:
        while mapping_sandbox.readers._idle:  # the next reader's pipes are numbered past 1,024
            mapping_sandbox._end(mapping_sandbox.readers._idle.pop())
        assert read_mappings_within(ITEMS, "xml", COSTLY)[0]["$flow.key.first"] == '["1","2"]'
    finally:
        for handle in held:
            handle.close()


def test_an_accounts_slow_paths_hold_up_its_own_calls_not_anothers() -> None:
    slow = ThreadPoolExecutor(max_workers=1).submit(
        read_mappings_within, MANY_ELEMENTS, "xml", QUADRATIC, owner="hostile", seconds=3
    )
    while not (turn := mapping_sandbox.readers._owners.get("hostile")) or not turn.locked():
        time.sleep(0.01)  # until its read is under way in one reader

    others = read_mappings_within(ITEMS, "xml", COSTLY, owner="another", seconds=3)  # the other reader
    with pytest.raises(TooSlowToRead) as own:
        read_mappings_within(ITEMS, "xml", COSTLY, owner="hostile", seconds=1)  # behind its own slow read

    assert others[0]["$flow.key.first"] == '["1","2"]'
    assert "waited longer than 1 s for a free reader" in str(own.value)
    with pytest.raises(TooSlowToRead):
        slow.result()


def test_a_large_answer_in_many_bytes_a_character_comes_back_quickly() -> None:
    body = ("<r>" + "\N{GRINNING FACE}" * 262_000 + "</r>").encode()  # 1 MB, and \u escapes would triple it
    mappings = [*({"save_in": f"$flow.key.r{n}", "path": "/r"} for n in range(6)), COSTLY[0]]

    values, _ = read_mappings_within(body, "xml", mappings, seconds=1)  # about 0.1 s; collected piecemeal, 1-2 s

    assert values == read_mappings(body, "xml", mappings)[0]


def test_a_reader_is_out_of_reach_of_a_ctrl_c_at_the_terminal() -> None:
    """Ctrl-C asks the worker to finish its calls; a reader in the terminal's session would die mid-read."""
    read_mappings_within(ITEMS, "xml", COSTLY)

    (reader,) = mapping_sandbox.readers._idle
    assert os.getsid(reader.pid) != os.getsid(0)


def test_a_reader_that_cannot_start_fails_the_read_and_tells_the_operator(monkeypatch, caplog) -> None:
    while mapping_sandbox.readers._idle:
        mapping_sandbox._end(mapping_sandbox.readers._idle.pop())
    monkeypatch.setattr(mapping_sandbox.sys, "executable", "/bin/false")  # a broken installation

    with pytest.raises(InvalidResponse) as failed:
        read_mappings_within(ITEMS, "xml", COSTLY)

    assert str(failed.value) == "The mappings could not be read: a reader process did not start."
    assert "a mapping reader did not start (/bin/false -m phonon.lib.mapping_sandbox exited 1)" in caplog.text
