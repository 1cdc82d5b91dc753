"""Residents from a spreadsheet: a CSV or XLSX file read into rows, each row checked by the
register form's own validation (ResidentForm) before anything is written.

The first row names the columns. Names are matched loosely ("Room no.", "E-mail",
"Move-in date"); ``name`` and ``room`` are required, columns this product does not know are
listed as ignored rather than refused (a spreadsheet often carries a serial number or
notes). Dates must be written YYYY-MM-DD (or be real dates in XLSX): "03/04/2026" is
3 April in one hostel and 4 March in another, so it is refused rather than guessed.

On top of the form's checks a row is refused when its email is on an earlier row, or when a
resident living here already has its name and room (the same file imported twice).
Nothing here writes: residents.services.residents_import does, all rows or none.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from django import forms
from django.db.models.functions import Lower

from residents import selectors, services
from residents.errors import ImportRefused
from residents.forms import DUPLICATE_EMAIL, IMPORT_BYTES_MAX, ResidentForm
from residents.models import Resident
from residents.search import fold, sort_key
from residents.services import DETAIL_FIELDS, EDITABLE_FIELDS, Staff

ROWS_MAX = 2000
XLSX_UNPACKED_MAX = 64 * 1024 * 1024  # a zip bomb stops here, before openpyxl opens it
COLUMNS_MAX = 64  # columns of a sheet read: a sheet may declare 16,384
SHEET_ROWS_MAX = 20_000  # rows of a sheet read, empty ones too
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
REQUIRED = ("name", "room")
COLUMNS = EDITABLE_FIELDS
assert set(COLUMNS) == {"name", "room", *DETAIL_FIELDS}

# Other ways people head a column, folded to lower-case words.
ALIASES = {
    "full name": "name",
    "resident": "name",
    "resident name": "name",
    "student": "name",
    "student name": "name",
    "room no": "room",
    "room number": "room",
    "floor no": "floor",
    "floor number": "floor",
    "e mail": "email",
    "email address": "email",
    "mobile": "phone",
    "mobile no": "phone",
    "mobile number": "phone",
    "mobile phone": "phone",
    "phone no": "phone",
    "phone number": "phone",
    "contact no": "phone",
    "contact number": "phone",
    "telephone": "phone",
    "tel": "phone",
    "email id": "email",
    "e mail id": "email",
    "mail": "email",
    "mail id": "email",
    "home address": "address",
    "move in": "move_in_date",
    "moved in": "move_in_date",
    "move in date": "move_in_date",
    "course": "occupation",
    "emergency contact": "emergency_contact",
    "guardian email": "guardian_email",
    "guardian s email": "guardian_email",
    "guardian e mail": "guardian_email",
    "parent email": "guardian_email",
}
HEADING_NOISE = re.compile(r"[^a-z0-9]+")
# Words that say an unknown column holds one of ours under another name: refused, so that
# nothing is dropped without a word ("Parent's mobile" is not the resident's phone).
LOOKALIKE = {
    "phone", "mobile", "contact", "tel", "cell", "telephone", "whatsapp", "email", "mail",
    "room", "floor", "address", "guardian", "parent", "emergency",
}  # fmt: skip
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Row:
    """One resident as the file gives it: ``number`` as the spreadsheet numbers the row
    (the column names are row 1), the cells by field, and what is wrong, by field ("row"
    for the row as a whole)."""

    number: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # cleaned, for the service

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.number, **self.values, "errors": self.errors}

    @property
    def problems(self) -> list[str]:
        """What is wrong, for a person: "Email: Enter a valid email address." """
        return [
            message if column == "row" else f"{_label(column)}: {message}"
            for column, messages in self.errors.items()
            for message in messages
        ]


@dataclass
class Sheet:
    rows: list[Row]
    ignored: list[str]  # column names the file has and this product does not

    @property
    def problems(self) -> list[Row]:
        return [row for row in self.rows if not row.ok]

    @property
    def columns(self) -> list[str]:
        """The fields the file has a column for, in the product's order."""
        present = set(self.rows[0].values) if self.rows else set()
        return [name for name in COLUMNS if name in present]

    @property
    def labels(self) -> list[str]:
        return [_label(name) for name in self.columns]

    @property
    def table(self) -> list[tuple[Row, list[str]]]:
        """Each row with its cells in the order of ``columns``, for a preview."""
        columns = self.columns
        return [(row, [row.values[name] for name in columns]) for row in self.rows]

    def refusal(self) -> ImportRefused:
        problems = self.problems
        return ImportRefused(
            "invalid_rows",
            f"{len(problems)} of {len(self.rows)} rows have problems; nothing was imported. "
            "Correct them in the file and send it again.",
            rows=problems,
        )


def sheet_import(sheet: Sheet, *, by: Staff) -> list[Resident]:
    """Register the residents of a sheet read by sheet_read: every one, or none
    (ImportRefused) when a row has problems."""
    if sheet.problems:
        raise sheet.refusal()
    rows = [(row.number, row.details) for row in sheet.rows]
    return services.residents_import(by=by, rows=rows)  # type: ignore[arg-type]


def sheet_read(content: bytes) -> Sheet:
    """The rows of a CSV (UTF-8, UTF-16, or Windows-1252 as older Excel saves it; comma,
    semicolon or tab) or XLSX file (its active sheet), each checked and numbered as the
    spreadsheet numbers it. Raises ImportRefused("invalid_file") when the file itself is
    wrong: too big, empty, unreadable, without a name or room column."""
    if len(content) > IMPORT_BYTES_MAX:
        raise _file_refused(f"The file is over {IMPORT_BYTES_MAX // 1024} KB: split it.")
    table = _xlsx_table(content) if content[:4] == b"PK\x03\x04" else _csv_table(content)
    table = [(number, cells) for number, cells in table if any(cell.strip() for cell in cells)]
    if not table:
        raise _file_refused("The file is empty.")
    (_, headings), body = table[0], table[1:]
    columns, ignored = _columns(headings)
    if not body:
        raise _file_refused("The file has column names but no residents under them.")
    if len(body) > ROWS_MAX:
        raise _file_refused(f"The file has more than {ROWS_MAX} residents: split it.")
    rows = [
        Row(number, {name: cells[i].strip() if i < len(cells) else "" for i, name in columns})
        for number, cells in body
    ]
    _check(rows)
    return Sheet(rows, ignored)


def _label(name: str) -> str:
    return str(ResidentForm.base_fields[name].label)


def _file_refused(message: str) -> ImportRefused:
    return ImportRefused("invalid_file", message)


def _csv_table(content: bytes) -> list[tuple[int, list[str]]]:
    """Each record with its number (a quoted cell may hold a line break)."""
    text = _csv_text(content)
    if "\x00" in text:
        raise _file_refused("This is not a CSV or XLSX file.")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    try:
        return list(enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1))
    except csv.Error as exc:
        raise _file_refused(f"The CSV file is damaged: {exc}.") from None


def _csv_text(content: bytes) -> str:
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # OLE2: Excel 97-2003
        raise _file_refused("This is an old Excel file (.xls): save it as .xlsx or as CSV.")
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text"
        return content.decode("utf-16", errors="replace")
    if b"\x00" in content:
        raise _file_refused("This is not a CSV or XLSX file.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if UTF8_SEQUENCE.search(content):  # UTF-8 elsewhere: one line is not
            line = content[: exc.start].count(b"\n") + 1
            raise _file_refused(
                f"Line {line} is not UTF-8 text though the rest of the file is: correct it, "
                'or save the file again as "CSV UTF-8".'
            ) from None
        return content.decode("cp1252", errors="replace")


def _xlsx_table(content: bytes) -> list[tuple[int, list[str]]]:
    """The active worksheet's rows, numbered, their cells as text (dates, with a time of day
    or not, as YYYY-MM-DD; 3.0 as 3); at most COLUMNS_MAX columns are read, and past
    SHEET_ROWS_MAX rows (empty ones too) the sheet is refused."""
    import openpyxl  # only an import needs it

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > XLSX_UNPACKED_MAX:
            raise _file_refused("The XLSX file unpacks too large: save it as CSV.")
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = book.active or book.worksheets[0]
            table, filled = [], 0
            rows = sheet.iter_rows(max_col=COLUMNS_MAX, values_only=True)
            for number, cells in enumerate(rows, 1):
                if number > SHEET_ROWS_MAX:
                    raise _file_refused(
                        f"The sheet runs past row {SHEET_ROWS_MAX:,}: delete the empty rows "
                        "below the residents, or save it as CSV."
                    )
                texts = [_cell_text(value) for value in cells]
                filled += any(text.strip() for text in texts)
                table.append((number, texts))
                if filled > ROWS_MAX + 1:  # past the limit: refused without reading on
                    break
            return table
        finally:
            book.close()
    except ImportRefused:
        raise
    except Exception:  # openpyxl raises many kinds on a damaged or foreign zip
        raise _file_refused("The XLSX file cannot be read: save it again, or as CSV.") from None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # a date cell with a time of day: the day
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _columns(headings: list[str]) -> tuple[list[tuple[int, str]], list[str]]:
    """(position, field) of each column this product knows, and the names of the others."""
    columns: list[tuple[int, str]] = []
    ignored = []
    for position, heading in enumerate(headings):
        words = _words(heading)
        name = words.replace(" ", "_") if words.replace(" ", "_") in COLUMNS else ALIASES.get(words)
        if name is None:
            if heading.strip():
                ignored.append(heading.strip())
            continue
        if name in dict(columns).values():
            raise _file_refused(f"Two columns are {name!r}: keep one.")
        columns.append((position, name))
    for heading in ignored:
        if LOOKALIKE & set(_words(heading).split()):
            raise _file_refused(
                f"The column {heading!r} is not one this import reads: head it with one of "
                f"{', '.join(COLUMNS)} if it holds that, or remove it, so that nothing in it "
                "is dropped without a word."
            )
    missing = [name for name in REQUIRED if name not in dict(columns).values()]
    if missing:
        found = ", ".join(repr(h.strip()) for h in headings if h.strip()) or "none"
        raise _file_refused(
            f"The first row must name the columns, with at least {' and '.join(REQUIRED)}; "
            f"missing: {', '.join(missing)} (the first row has {found})."
        )
    return columns, ignored


def _words(heading: str) -> str:
    """A heading as lower-case words: "E-mail ID" is "e mail id"."""
    return HEADING_NOISE.sub(" ", fold(heading)).strip()


def _check(rows: list[Row]) -> None:
    """Each row through ResidentForm; then what only the whole file shows."""
    emails: dict[str, int] = {}
    people: dict[tuple[str, str], int] = {}
    registered = selectors.living_in(row.values.get("room", "") for row in rows)
    taken = _emails_taken(row.values.get("email", "") for row in rows)
    for row in rows:
        when = row.values.get("move_in_date", "")
        if when and not ISO_DATE.fullmatch(when):
            row.refuse("move_in_date", f"Write the date as YYYY-MM-DD (2026-09-01), not {when!r}.")
        form = _RowForm(data={name: row.values.get(name, "") for name in COLUMNS}, taken=taken)
        if form.is_valid():
            row.details = {name: form.cleaned_data[name] for name in COLUMNS}
        for name, messages in form.errors.items():
            if name in row.errors:  # the date already said how to write it
                continue
            for message in messages:
                row.refuse("row" if name == "__all__" else name, str(message))
        email = row.values.get("email", "").casefold()
        if email and email in emails:
            row.refuse("email", f"Row {emails[email]} has this email address too.")
        emails.setdefault(email, row.number) if email else None
        person = (sort_key(row.values.get("name", "")), sort_key(row.values.get("room", "")))
        if person in registered:
            row.refuse("row", "A resident with this name already lives in this room.")
        elif all(person) and person in people:
            row.refuse("row", f"Row {people[person]} is the same resident (name and room).")
        people.setdefault(person, row.number)


class _RowForm(ResidentForm):
    """ResidentForm for one row of a file, without its queries row by row: the emails were
    looked up for the whole file at once (``taken``, lower-case), and the model's
    constraints, which a new resident meets once the form's fields are valid and its email
    is free, are not asked of the database (each is a query: ten a row, nine seconds for a
    thousand rows at 10,000 residents)."""

    def __init__(self, *args: Any, taken: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken = taken
        self.instance.full_clean = partial(
            Resident.full_clean, self.instance, validate_constraints=False
        )

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        if email and email.lower() in self.taken:
            raise forms.ValidationError(DUPLICATE_EMAIL, code="duplicate_email")
        return email


def _emails_taken(emails: Iterable[str]) -> set[str]:
    """Which of ``emails`` a resident (moved out or not) has, lower-case."""
    wanted = sorted({email.strip().lower() for email in emails if email.strip()})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            Resident.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=wanted[start : start + 500])
            .values_list("email_lower", flat=True)
        )  # fmt: skip
    return found
