"""Mappings whose paths may cost more than linear time are read in a child process, within a time limit.

The account writes the paths and the partner writes the answer, and together they can hold a
CPU for hours: `//*[count(//*) > 0]` on an answer of 250,000 elements (1 MiB of `<a/>`) does
62 billion steps inside libxml2, where no thread can stop it. A widget whose paths all have
one of the linear shapes (`extraction.path_is_linear`: what nearly every mapping looks like) is
read in the calling thread, as before. Any other widget's mappings go to a reader process
(`python -m phonon.lib.mapping_sandbox`, at most MAX_READERS per process, started when first
needed and kept, in a session of its own so a Ctrl-C reaches only the worker), which is killed
at READ_SECONDS; the widget then fails with INVALID_RESPONSE, the detail naming the limit. An
account reads at one reader at a time, so its slow paths hold up its own calls, not another
account's. The reader gets no environment but where Python finds the code, and at most
READER_MEMORY_BYTES of memory.

Protocol, one request at a time on the reader's stdin and stdout: a JSON line
`{"response_type", "mappings", "size"}` then `size` bytes of the answer; the answer is one JSON
line, `{"values", "unmatched"}` or `{"invalid", "reason"}`.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from phonon.lib.extraction import InvalidResponse, path_is_linear, read_mappings

logger = logging.getLogger(__name__)

READ_SECONDS = 2.0
READER_START_SECONDS = 30.0  # Python and lxml starting, on a loaded machine: not the mappings' time
MAX_READERS = 2
READY = b"ready\n"
READER_MEMORY_BYTES = 1024**3
_PROJECT_DIR = Path(__file__).resolve().parents[2]

Mappings = list[Mapping[str, Any]]


def read_mappings_within(
    body: bytes | str, response_type: str, mappings: Mappings, *, owner: Hashable = None, seconds: float | None = None
) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """extraction.read_mappings(), in a reader process within `seconds` (READ_SECONDS) unless every path is linear.

    `owner` (the account) gets one reader at a time: its slow paths make its own calls wait, not
    another account's.
    """
    if all(path_is_linear(mapping["path"], response_type) for mapping in mappings):
        return read_mappings(body, response_type, mappings)
    body = body.encode() if isinstance(body, str) else body
    answer = readers.ask(body, response_type, mappings, seconds or READ_SECONDS, owner)
    if "invalid" in answer:
        raise InvalidResponse(answer["invalid"], answer["reason"])
    return answer["values"], answer["unmatched"]


class TooSlowToRead(InvalidResponse):
    def __init__(self, mappings: Mappings, size: int, seconds: float, *, waiting: bool = False) -> None:
        names = ", ".join(mapping["save_in"] for mapping in mappings)
        if waiting:
            what = (
                f"waited longer than {seconds:g} s for a free reader (a worker reads such paths {MAX_READERS} at "
                "a time, one at a time for an account)"
            )
        else:
            what = f"took longer than {seconds:g} s, the limit for paths that may search the answer over and over"
        super().__init__(f"Reading the mappings ({names}) from this {size:,}-byte answer {what}: simplify their paths.")


class Readers:
    """Up to `size` reader processes, one at a time for an owner; a request waits for its turn
    within its own time limit."""

    def __init__(self, size: int) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._owners: dict[Hashable, threading.Lock] = {}
        self._idle: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def ask(self, body: bytes, response_type: str, mappings: Mappings, seconds: float, owner: Hashable = None):
        """The reader's answer (a dict); TooSlowToRead when no turn came or the read ran past `seconds`."""
        turn_by = time.monotonic() + seconds
        with self._lock:
            owners_turn = self._owners.setdefault(owner, threading.Lock()) if owner is not None else None
        if owners_turn is not None and not owners_turn.acquire(timeout=seconds):
            raise TooSlowToRead(mappings, len(body), seconds, waiting=True)
        try:
            if not self._slots.acquire(timeout=max(0.0, turn_by - time.monotonic())):
                raise TooSlowToRead(mappings, len(body), seconds, waiting=True)
            try:
                return self._read(body, response_type, mappings, seconds)
            finally:
                self._slots.release()
        finally:
            if owners_turn is not None:
                owners_turn.release()

    def _read(self, body: bytes, response_type: str, mappings: Mappings, seconds: float) -> dict[str, Any]:
        reader = self._take()
        try:
            _send(reader, body, response_type, mappings)
            line = _line_before(reader, time.monotonic() + seconds)
        except BaseException:
            _end(reader)  # stuck, dead or half way through a request: never reused
            raise
        if line is None:
            _end(reader)
            logger.warning("mapping reader %s stopped after %g s reading %s", reader.pid, seconds, _paths(mappings))
            raise TooSlowToRead(mappings, len(body), seconds)
        self._give_back(reader)
        return json.loads(line)

    def _take(self) -> subprocess.Popen:
        with self._lock:
            while self._idle:
                reader = self._idle.pop()
                if reader.poll() is None:
                    return reader
        reader = subprocess.Popen(  # noqa: S603 - this interpreter running this module
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_PROJECT_DIR,
            env={"PYTHONPATH": str(_PROJECT_DIR), "PATH": os.environ.get("PATH", "")},
            start_new_session=True,  # a Ctrl-C at the terminal stops the worker, which finishes its calls
        )
        try:
            ready = _line_before(reader, time.monotonic() + READER_START_SECONDS)
        except InvalidResponse:
            ready = None
        if ready != READY:
            _end(reader)
            logger.error(
                "a mapping reader did not start (%s -m %s exited %s)", sys.executable, __name__, reader.returncode
            )
            raise InvalidResponse("The mappings could not be read: a reader process did not start.")
        return reader

    def _give_back(self, reader: subprocess.Popen) -> None:
        with self._lock:
            self._idle.append(reader)


def _send(reader: subprocess.Popen, body: bytes, response_type: str, mappings: Mappings) -> None:
    header = {"response_type": response_type, "mappings": [dict(mapping) for mapping in mappings], "size": len(body)}
    try:
        reader.stdin.write(json.dumps(header).encode() + b"\n" + body)
        reader.stdin.flush()
    except OSError as error:
        raise InvalidResponse(f"The mappings could not be read: the reader stopped ({error}).") from None


def _line_before(reader: subprocess.Popen, deadline: float) -> bytes | None:
    """The reader's answer line, or None when `deadline` comes first.

    poll(), not select(): a worker holding 2,000 calls has descriptors past select()'s 1,024.
    """
    fd, chunks = reader.stdout.fileno(), [b""]
    waiting = select.poll()
    waiting.register(fd, select.POLLIN)
    while not chunks[-1].endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not waiting.poll(left * 1000):
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise InvalidResponse("The mappings could not be read: the reader stopped.")
        chunks.append(chunk)
    return b"".join(chunks)


def _paths(mappings: Mappings) -> str:
    return ", ".join(repr(mapping["path"]) for mapping in mappings)


def _end(reader: subprocess.Popen) -> None:
    reader.kill()
    reader.wait()


readers = Readers(MAX_READERS)


# --- the reader process ----------------------------------------------------------------------


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Say READY, then answer requests until `requests` ends (the worker closed it, or exited)."""
    answers.write(READY)
    answers.flush()
    while header := requests.readline():
        request = json.loads(header)
        body = requests.read(request["size"])
        try:
            values, unmatched = read_mappings(body, request["response_type"], request["mappings"])
            answer: dict[str, Any] = {"values": values, "unmatched": unmatched}
        except InvalidResponse as error:
            answer = {"invalid": str(error), "reason": error.reason}
        except MemoryError:
            reason = "reading the mappings needs more memory than a reader has"
            answer = {"invalid": f"The mappings could not be read from this answer: {reason}.", "reason": reason}
        # UTF-8, not \u escapes (twelve bytes an emoji); a lone surrogate in a message stays an escape.
        answers.write(json.dumps(answer, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n")
        answers.flush()


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_AS, (READER_MEMORY_BYTES, READER_MEMORY_BYTES))
    serve(sys.stdin.buffer, sys.stdout.buffer)
