"""Text the product can store: the same rules on SQLite and PostgreSQL.

PostgreSQL's text and jsonb cannot hold NUL (U+0000), and no UTF-8 store can hold a lone
surrogate (U+D800 to U+DFFF), which JSON's `"\\ud800"` escape and odd charsets such as UTF-7
produce. SQLite would keep a NUL; the product treats both stores alike:

* Text from the network (webhook answers: bodies, mapped values, error details) is made
  storable with `storable()`: each such character becomes U+FFFD, the replacement character
  a decoder shows for bytes it cannot read, so the change is visible.
* Text from clients (API bodies, query strings, the site's forms) is refused with a sentence
  naming the field, for a 400 (`unstorable_problem`; JSON bodies: `phonon.lib.json_input`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REPLACEMENT = "\ufffd"
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD."""
    return UNSTORABLE_RE.sub(REPLACEMENT, text)


def first_line(error: BaseException) -> str:
    """What a log line or a failure reason quotes of an error: its first line, or its type's name."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def storable_error(error: BaseException) -> str:
    """An error's first line as a database can store it, as a failure reason (at most 500 characters)."""
    return storable(first_line(error))[:500]


def unstorable_problem(text: str) -> str | None:
    """A sentence saying which character of `text` cannot be stored; None when all can."""
    match = UNSTORABLE_RE.search(text)
    if match is None:
        return None
    char = match.group()
    what = "a NUL character (U+0000)" if char == "\x00" else f"an unpaired surrogate (U+{ord(char):04X})"
    return f"The text holds {what}, which cannot be stored; remove it."


def first_unstorable_field(fields: Iterable[tuple[str, Iterable[str]]]) -> tuple[str, str] | None:
    """(field name, sentence) for the first field whose name or a value cannot be stored.

    For flat input such as a query string or a form: `QueryDict.lists()` fits.
    """
    for name, values in fields:
        for text in (name, *values):
            problem = isinstance(text, str) and unstorable_problem(text)
            if problem:
                return storable(name), problem
    return None
