"""Whole numbers written as text that came from outside: headers, URL paths, settings."""


def whole_number(text: str) -> int | None:
    """`text` as a whole number when it is ASCII digits only; None otherwise.

    str.isdigit() also accepts "²" or "¹" (a hostile byte 0xB2 read as Latin-1), which int() refuses.
    """
    return int(text) if text.isascii() and text.isdigit() else None
