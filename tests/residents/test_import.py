"""Residents imported from a spreadsheet: checked row by row and previewed, then all
registered (each a ledger block) or none."""

import io
import json
from datetime import date, datetime

import openpyxl
import pytest

from ledger.models import Block
from ledger.verification import chain_verify
from residents import imports, services
from residents.errors import ImportRefused
from residents.models import Resident
from tests.residents.conftest import client_for, upload

pytestmark = pytest.mark.django_db

GOOD = (
    "Name,Room no.,Floor,E-mail,Guardian email,Move-in date,S.No.\r\n"
    "Ama Owusu,B-201,2,ama@example.org,kofi@example.org,2026-09-01,1\r\n"
    "Bo Lindqvist,B-202,2,,,,2\r\n"
    "Chen Wei,C-301,3,chen@example.org,,2026-09-02,3\r\n"
)


def csv_file(text: str, name: str = "residents.csv"):
    return upload(name, text.encode(), "text/csv")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.worksheets[0].append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def nothing_written(before: int) -> bool:
    return Resident.objects.count() == 0 and Block.objects.count() == before


def test_each_row_is_checked_and_the_problems_named_by_row_and_column(warden) -> None:
    sheet = imports.sheet_read(
        b"name,room,floor,email,move_in_date\n"
        b"Ama Owusu,B-201,2,ama@example.org,2026-09-01\n"
        b"Bo,B-202,second,not an email,03/04/2026\n"
        b",B-203,,,\n"
        b"Chen Wei,C-301,,AMA@example.org,\n"
        b"Ama Owusu,b-201,,,\n"
    )

    problems = {row.number: row.errors for row in sheet.problems}
    assert sorted(problems) == [3, 4, 5, 6]
    assert set(problems[3]) == {"floor", "email", "move_in_date"}
    assert "YYYY-MM-DD" in problems[3]["move_in_date"][0]  # 3 April or 4 March: not guessed
    assert set(problems[4]) == {"name"}
    assert problems[5] == {"email": ["Row 2 has this email address too."]}
    assert problems[6] == {"row": ["Row 2 is the same resident (name and room)."]}
    assert sheet.rows[0].ok and sheet.rows[0].details["move_in_date"] == date(2026, 9, 1)


def test_a_file_with_a_problem_imports_nobody(warden) -> None:
    before = Block.objects.count()
    sheet = imports.sheet_read(GOOD.encode() + b"Dara,,1,,,,4\r\n")

    with pytest.raises(ImportRefused) as refused:
        imports.sheet_import(sheet, by=warden)

    assert refused.value.code == "invalid_rows"
    assert [row.number for row in refused.value.rows] == [5]
    assert nothing_written(before)


def test_a_clean_file_registers_everyone_each_with_a_block(warden) -> None:
    registered = imports.sheet_import(imports.sheet_read(GOOD.encode()), by=warden)

    assert [r.name for r in registered] == ["Ama Owusu", "Bo Lindqvist", "Chen Wei"]
    ama = Resident.objects.get(name="Ama Owusu")
    assert (ama.room, ama.floor, ama.guardian_email) == ("B-201", 2, "kofi@example.org")
    assert ama.move_in_date == date(2026, 9, 1) and ama.is_active
    blocks = [json.loads(b.data) for b in Block.objects.filter(type="register").order_by("index")]
    assert [b["resident_name"] for b in blocks] == ["Ama Owusu", "Bo Lindqvist", "Chen Wei"]
    assert {b["source"] for b in blocks} == {"import"}
    assert [b["resident_id"] for b in blocks] == [str(r.pk) for r in registered]
    assert chain_verify().valid


def test_the_same_file_twice_is_refused_the_second_time(warden) -> None:
    imports.sheet_import(imports.sheet_read(GOOD.encode()), by=warden)

    again = imports.sheet_read(GOOD.encode())

    assert len(again.problems) == 3
    assert again.problems[1].errors == {
        "row": ["A resident with this name already lives in this room."]
    }
    assert "already has this email" in again.problems[0].errors["email"][0]


def test_an_email_taken_between_preview_and_import_stops_the_whole_file(warden) -> None:
    sheet = imports.sheet_read(GOOD.encode())
    services.resident_register(by=warden, name="Someone Else", room="Z-1", email="chen@example.org")
    before = Block.objects.count()

    with pytest.raises(ImportRefused, match="Row 4"):
        imports.sheet_import(sheet, by=warden)

    assert Resident.objects.count() == 1 and Block.objects.count() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n,,\n", "empty"),
        (b"name,floor\nAma,1\n", "missing: room"),
        (b"Resident,Bed\nAma,1\n", "missing: room"),
        (b"name,room,Room no\nAma,1,2\n", "Two columns are 'room'"),
        (b"name,room\n", "no residents"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "old Excel file"),
        (b"Name,Room,Parent's mobile\nAma,B-1,+44 7700 900123\n", "is not one this import"),
        (b"PK\x03\x04 a damaged zip", "cannot be read"),
        (b"name,room\n" + b"Ama,1\n" * (imports.ROWS_MAX + 1), "more than 2000 residents"),
    ],
)
def test_a_file_that_is_not_a_sheet_of_residents_is_refused_clearly(content, message) -> None:
    with pytest.raises(ImportRefused, match=message) as refused:
        imports.sheet_read(content)

    assert refused.value.code == "invalid_file"


def test_excel_files_semicolons_and_windows_text_are_read(warden) -> None:
    xlsx = xlsx_bytes(
        [
            ["Student name", "Room", "Floor", "Move in date", "Phone"],
            ["Zoë Ångström", 101, 1.0, datetime(2026, 9, 1), "+44 7700 900123"],
        ]
    )
    semicolons = "name;room;floor\nJosé Núñez;A-1;1\n".encode("cp1252")

    from_excel = imports.sheet_read(xlsx).rows[0]
    from_semicolons = imports.sheet_read(semicolons).rows[0]

    assert from_excel.ok, from_excel.errors
    assert from_excel.details | {"phone": "+44 7700 900123"} == from_excel.details
    assert (from_excel.values["room"], from_excel.details["floor"]) == ("101", 1)
    assert from_excel.details["move_in_date"] == date(2026, 9, 1)
    assert from_semicolons.details["name"] == "José Núñez" and from_semicolons.ok


def test_columns_it_does_not_know_are_listed_not_lost_silently() -> None:
    sheet = imports.sheet_read(GOOD.encode())

    assert sheet.ignored == ["S.No."]
    assert sheet.columns == ["name", "room", "floor", "email", "move_in_date", "guardian_email"]


def test_an_xlsx_that_unpacks_huge_is_refused_before_it_is_opened() -> None:
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (imports.XLSX_UNPACKED_MAX + 1))

    with pytest.raises(ImportRefused, match="unpacks too large"):
        imports.sheet_read(out.getvalue())


# --- the page ---------------------------------------------------------------------------


def test_the_page_previews_then_imports_on_confirmation(warden) -> None:
    client = client_for(warden)

    preview = client.post("/residents/import", {"file": csv_file(GOOD)})

    assert preview.status_code == 200 and Resident.objects.count() == 0
    assert b"3 residents</strong> ready to import" in preview.content
    assert b"S.No." in preview.content  # shown as not imported
    carried = preview.context["form"].carried()
    done = client.post("/residents/import", {"content": carried, "import": "1"}, follow=True)
    assert b"3 residents imported." in done.content
    assert Resident.objects.count() == 3


def test_the_page_shows_each_rows_problems_and_offers_no_import(warden) -> None:
    response = client_for(warden).post(
        "/residents/import", {"file": csv_file(GOOD + "Dara,,x,,,,4\r\n")}
    )

    page = response.content.decode()
    assert "1 of 4 rows have problems" in page
    assert "Room: This field is required." in page and "Floor: Enter a whole number." in page
    assert 'name="import"' not in page


def test_posting_import_with_a_file_that_has_problems_writes_nothing(warden) -> None:
    before = Block.objects.count()
    response = client_for(warden).post(
        "/residents/import", {"file": csv_file(GOOD + "Dara,,x,,,,4\r\n"), "import": "1"}
    )

    assert response.status_code == 200 and nothing_written(before)


def test_the_page_refuses_a_file_that_is_not_a_spreadsheet(warden) -> None:
    response = client_for(warden).post("/residents/import", {"file": csv_file("hello\n")})

    assert "missing: name, room" in response.content.decode()
    assert Resident.objects.count() == 0


def test_a_guard_cannot_import(guard) -> None:
    assert client_for(guard).get("/residents/import").status_code == 403
    assert client_for(guard).post("/api/residents/import", {}).status_code == 403


def test_the_empty_template_has_every_column(warden) -> None:
    response = client_for(warden).get("/residents/import/residents.csv")

    assert response.content.decode().strip() == ",".join(imports.COLUMNS)
    assert imports.sheet_read(response.content + b"Ama,B-1" + b"," * 8 + b"\r\n").rows[0].ok


# --- the API -----------------------------------------------------------------------------


def test_the_api_dry_run_previews_and_writes_nothing(warden) -> None:
    before = Block.objects.count()

    response = client_for(warden).post(
        "/api/residents/import", {"file": csv_file(GOOD + "Dara,,x,,,,4\r\n"), "dry_run": "true"}
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["valid"], body["invalid"], body["ignored_columns"]) == (3, 1, ["S.No."])
    assert body["rows"][3]["row"] == 5 and set(body["rows"][3]["errors"]) == {"room", "floor"}
    assert nothing_written(before)


def test_the_api_imports_a_clean_file(warden) -> None:
    response = client_for(warden).post("/api/residents/import", {"file": csv_file(GOOD)})

    body = response.json()
    assert response.status_code == 201, body
    assert body["imported"] == 3
    assert [r["row"] for r in body["residents"]] == [2, 3, 4]
    assert Resident.objects.filter(pk=body["residents"][2]["id"], name="Chen Wei").exists()


def test_the_api_refuses_a_file_with_problems_naming_them(warden) -> None:
    before = Block.objects.count()
    response = client_for(warden).post(
        "/api/residents/import", {"file": csv_file(GOOD + "Dara,,x,,,,4\r\n")}
    )

    error = response.json()["error"]
    assert response.status_code == 422
    assert error["code"] == "invalid_rows" and "1 of 4 rows" in error["message"]
    assert [row["row"] for row in error["rows"]] == [5]
    assert nothing_written(before)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, "invalid"),  # {"fields": {"file": ["This field is required."]}}
        ({"file": "data:text/csv;base64,!!!"}, "invalid_file"),
        ({"file": "data:text/csv;base64,aGVsbG8K"}, "invalid_file"),  # "hello"
    ],
)
def test_the_api_answers_hostile_input_with_a_clear_400(warden, data, code) -> None:
    response = client_for(warden).post(
        "/api/residents/import", data, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert Resident.objects.count() == 0


def test_the_api_takes_an_xlsx_file(warden) -> None:
    content = xlsx_bytes([["name", "room"], ["Ama Owusu", "B-201"]])

    response = client_for(warden).post(
        "/api/residents/import", {"file": upload("r.xlsx", content), "dry_run": "1"}
    )

    assert response.status_code == 200 and response.json()["valid"] == 1


def test_the_admin_points_superusers_to_the_import(superuser) -> None:
    page = client_for(superuser).get("/admin/residents/resident/").content.decode()

    assert 'href="/residents/import"' in page and "Import from a spreadsheet" in page


def test_the_same_file_imported_twice_at_once_registers_it_once(warden) -> None:
    first, second = imports.sheet_read(GOOD.encode()), imports.sheet_read(GOOD.encode())
    imports.sheet_import(first, by=warden)
    before = Block.objects.count()

    with pytest.raises(ImportRefused, match="Row 2: Ama Owusu already lives in room B-201"):
        imports.sheet_import(second, by=warden)

    assert Resident.objects.count() == 3 and Block.objects.count() == before


def test_rows_keep_the_spreadsheets_numbers_past_blank_lines() -> None:
    sheet = imports.sheet_read(b"name,room,email\nAma,B-1,\n\n,,\nBo,B-2,not-an-email\n")

    assert [row.number for row in sheet.rows] == [2, 5]
    assert [row.number for row in sheet.problems] == [5]


def test_residents_after_a_gap_in_an_xlsx_sheet_are_read() -> None:
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.append(["name", "room"])
    for n in range(2, 1002):
        sheet.cell(row=n, column=1, value=f"Resident {n}")
        sheet.cell(row=n, column=2, value=f"A-{n}")
    for n in range(3001, 3011):
        sheet.cell(row=n, column=1, value=f"Late {n}")
        sheet.cell(row=n, column=2, value=f"C-{n}")
    out = io.BytesIO()
    book.save(out)

    rows = imports.sheet_read(out.getvalue()).rows

    assert len(rows) == 1010 and rows[-1].number == 3010 and rows[-1].values["name"] == "Late 3010"


def test_a_sheet_that_runs_past_its_limit_is_refused_not_read_to_the_end() -> None:
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.append(["name", "room"])
    sheet.cell(row=imports.SHEET_ROWS_MAX + 5, column=1, value="Far away")
    out = io.BytesIO()
    book.save(out)

    with pytest.raises(ImportRefused, match="runs past row 20,000"):
        imports.sheet_read(out.getvalue())


def test_a_sheet_declared_very_wide_reads_only_its_first_columns() -> None:
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.append(["name", "room"])
    sheet.append(["Ama Owusu", "B-201"])
    sheet.cell(row=2, column=16384, value="far right")
    out = io.BytesIO()
    book.save(out)

    rows = imports.sheet_read(out.getvalue()).rows

    assert [row.values for row in rows] == [{"name": "Ama Owusu", "room": "B-201"}]


def test_the_active_sheet_is_read_not_a_hidden_first_one() -> None:
    book = openpyxl.Workbook()
    hidden = book.worksheets[0]
    hidden.append(["name", "room"])
    hidden.append(["Old List", "Z-1"])
    hidden.sheet_state = "hidden"
    shown = book.create_sheet("Residents")
    shown.append(["name", "room"])
    shown.append(["Ama Owusu", "B-201"])
    book.active = 1
    out = io.BytesIO()
    book.save(out)

    assert [row.values["name"] for row in imports.sheet_read(out.getvalue()).rows] == ["Ama Owusu"]


def test_text_encodings_are_read_or_the_bad_line_is_named() -> None:
    utf16 = "name,room\r\nZoë Ångström,B-1\r\n".encode("utf-16")
    mixed = "name,room\nZoë,B-1\n".encode() + "Zoë,B-2\n".encode("cp1252")

    assert imports.sheet_read(utf16).rows[0].values["name"] == "Zoë Ångström"
    with pytest.raises(ImportRefused, match="Line 3 is not UTF-8"):
        imports.sheet_read(mixed)


def test_common_headings_for_phone_and_email_are_read() -> None:
    """Found in a tryout: "Mobile No." and "Email ID" were ignored, and the residents were
    imported without their phones and emails, the file called valid."""
    sheet = imports.sheet_read(
        b"Student Name,Room No.,Mobile No.,Email ID\nAma Owusu,B-201,+233 20 000 0000,"
        b"ama@example.org\n"
    )

    assert sheet.columns == ["name", "room", "email", "phone"] and sheet.ignored == []
    assert sheet.rows[0].details["phone"] == "+233 20 000 0000"


def test_an_xlsx_date_with_a_time_of_day_is_that_day() -> None:
    content = xlsx_bytes(
        [["name", "room", "move_in_date"], ["Ama", "B-1", datetime(2026, 9, 1, 14, 30)]]
    )

    row = imports.sheet_read(content).rows[0]

    assert row.ok and row.details["move_in_date"] == date(2026, 9, 1)


def test_a_date_written_the_ambiguous_way_gets_one_message() -> None:
    row = imports.sheet_read(b"name,room,move_in_date\nAma,B-1,03/04/2026\n").rows[0]

    assert len(row.errors["move_in_date"]) == 1
