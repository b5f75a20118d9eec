"""CSV exports that a spreadsheet opens safely: one time format and formula-injection escaping.

The UDF report and the deliveries log both export CSV; a cell that starts with `=`, `+`, `-` or
`@` would run as a formula in a spreadsheet (CSV injection), so such text gets a `'` in front.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST_CHARACTERS = frozenset("".join(FORMULA_PREFIXES))


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, the same text in JSON and CSV: `2026-11-01T09:30:00Z`.

    A naive time (SQLite's driver gives them) is UTC already.
    """
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def spreadsheet_safe(value: str | None) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a `'` in front.

    Numbers such as `-12.5` stay as they are.
    """
    if not value or not value.startswith(FORMULA_PREFIXES):
        return value or ""
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def safe_cells(cells: Iterable[str | None]) -> list[str | None]:
    """A row's cells made spreadsheet-safe (None stays an empty cell); the first-character test is
    inline because this runs for every cell of every exported row."""
    risky = FORMULA_FIRST_CHARACTERS
    return [spreadsheet_safe(cell) if cell and cell[0] in risky else cell for cell in cells]


def csv_text(header: list[str], row_chunks: Iterable[Iterable[list]]) -> Iterator[str]:
    """The CSV, one piece per chunk of rows (already made safe), in constant memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for rows in row_chunks:
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header alone, when no row matched
        yield buffer.getvalue()
