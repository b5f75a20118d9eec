"""Read a JSON request body: refuse what would fail later as a 500 instead of a 400.

Two rules besides valid JSON (NaN and Infinity refused, as `loads_strict` does):

* nesting deeper than `MAX_JSON_DEPTH` levels is refused: Python's parser would otherwise fail
  with RecursionError somewhere past ~900 levels, and no request of the product nests more
  than a handful;
* text the database cannot store (`phonon.lib.storable`: NUL, lone surrogates), in a value or
  a key, is refused naming its dotted field path (`call.cli`, `widgets.0.config.url`).
"""

from __future__ import annotations

from typing import Any

from phonon.lib.extraction import loads_strict
from phonon.lib.storable import storable, unstorable_problem

MAX_JSON_DEPTH = 64
TOO_DEEP = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels; send a flatter document."


class JSONInputError(ValueError):
    """A refused body. `errors` is {dotted field path: [sentence]} when one field is to blame,
    None when the whole body is (the message is the sentence)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors


def read_json_input(body: bytes | str) -> Any:
    """The parsed body; JSONInputError when it is invalid, too deep or holds unstorable text."""
    try:
        data = loads_strict(body)
    except RecursionError:
        raise JSONInputError(TOO_DEEP) from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, NaN, over-long integers
        raise JSONInputError(f"The request body is not valid JSON: {exc}.") from None
    _check_json_input(data)
    return data


def _check_json_input(data: Any) -> None:
    """One walk without recursion (any depth is safe) for both rules."""
    pending: list[tuple[Any, str, int]] = [(data, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            problem = unstorable_problem(value)
            if problem:
                raise JSONInputError(problem, {path or "body": [problem]})
        elif isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise JSONInputError(TOO_DEEP)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = f"{path}.{storable(str(key))}" if path else storable(str(key))
                problem = isinstance(key, str) and unstorable_problem(key)
                if problem:
                    raise JSONInputError(problem, {child: [f"The field's name is refused. {problem}"]})
                pending.append((item, child, depth + 1))
