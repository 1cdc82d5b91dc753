"""CSV that spreadsheets open safely: a cell a spreadsheet would run as a formula is defused."""

import csv
from collections.abc import Iterable, Iterator


def safe_cell(value: object) -> object:
    # A name like "=HYPERLINK(...)" must not become a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Each row as one CSV line, for a StreamingHttpResponse. The caller defuses the cells
    people typed (safe_cell); proofs such as a signature must stay exactly as they are."""
    line = _Line()
    writer = csv.writer(line)
    for row in rows:
        writer.writerow(row)
        yield line.take()


class _Line:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def take(self) -> str:
        text, self.text = self.text, ""
        return text
