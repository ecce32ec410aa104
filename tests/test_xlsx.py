"""The reports as .xlsx workbooks (`?format=xlsx` or the Accept header): typed cells that match the JSON
answer, text that cannot start a formula, a bold frozen header with a filter, a second sheet past a
sheet's rows, and flat worker memory for a large export on the real server."""

from __future__ import annotations

import io
import re
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from service import workbook
from service.exports import safe_text

from .api import approve, create, line, new_article, paint_line, receive
from .test_report_streaming import _get, _rss_kb, inventory_server

pytestmark = pytest.mark.usefixtures("reconciled")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RISKY = ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "-2+3", "\uff1d1+1", "x,-1", "a;=1+1"]
LITERAL = ["<r><t>x</t></r>", "_x0041_ stays", "http://example.com/a"]  # XlsxWriter must not read these


@pytest.fixture
def movements(client, as_admin, stockroom):
    """Receipts of paint and of articles whose descriptions look like formulas or markup, and one
    approved weigh-in."""
    paint = new_article(
        client, as_admin, description="Grundierung grau \u2013 \u00c4", reorder_threshold="50"
    )
    batch = receive(client, as_admin, order="PO-1", **paint_line(paint["id"], quantity="10.5")).json[
        "batch_id"
    ]
    for text in RISKY + LITERAL:
        odd = new_article(client, as_admin, paint=False, description=text)
        receive(client, as_admin, order="PO-2", article_id=odd["id"], quantity_kg="1.25")
    group = create(client, as_admin, [line(paint["id"], batch, "3")]).json
    approve(client, as_admin, group["id"])
    return {"paint": paint, "batch": batch}


def xlsx(result) -> openpyxl.Workbook:
    """The workbook of an XLSX answer (asserted to be one)."""
    assert result.status_code == 200, result.text
    assert result.headers["content-type"] == XLSX
    assert result.headers["content-length"] == str(len(result.content))
    disposition = result.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.xlsx"')
    return openpyxl.load_workbook(io.BytesIO(result.content))


def excel_text(value):
    """A text cell as Excel shows it: openpyxl leaves Excel's `_xHHHH_` escapes in place."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def rows_of(sheet) -> tuple[list[str], list[dict]]:
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    return header, [dict(zip(header, map(excel_text, row), strict=True)) for row in rows[1:]]


REPORTS = {  # every report, with the parameters that give it rows here
    "inventory": ("/api/reports/inventory", {}),
    "transactions": ("/api/reports/transactions", {}),
    "consumption": ("/api/reports/consumption", {"from": "2020-01-01"}),
    "low-stock": ("/api/inventory/low-stock", {}),
    "expiring": ("/api/inventory/expiring", {"within_days": "3650"}),
}


def report(client, headers, name, **params):
    path, needed = REPORTS[name]
    return client.simulate_get(path, headers=headers, params={**needed, **params})


def assert_cell_matches_json(value, expected, field):
    """A cell holds what the JSON answer holds, typed: numbers as numbers, dates and timestamps as dates."""
    if expected is None:
        assert value is None, field
    elif isinstance(expected, bool):
        assert value is expected, field
    elif isinstance(expected, int | float):
        assert isinstance(value, int | float) and not isinstance(value, bool), field
        assert value == pytest.approx(expected), field
    elif len(expected) == 10 and expected[4] == "-" and expected[7] == "-":
        assert isinstance(value, datetime) and value.date() == date.fromisoformat(expected), field
    elif expected[:4].isdigit() and "T" in expected:
        moment = datetime.fromisoformat(expected).astimezone(UTC).replace(tzinfo=None)
        assert isinstance(value, datetime) and abs(value - moment) < timedelta(milliseconds=1), field
    else:
        assert value == safe_text(expected), field


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_xlsx_cell_is_typed_as_the_json_answer_types_it(client, as_admin, movements, name):
    items = report(client, as_admin, name).json["items"]
    assert items, name
    header, rows = rows_of(xlsx(report(client, as_admin, name, format="xlsx")).active)
    assert header == list(items[0])
    assert len(rows) == len(items)
    for item, row in zip(items, rows, strict=True):
        for field, expected in item.items():
            assert_cell_matches_json(row[field], expected, field)


def test_kilograms_are_numbers_shown_with_their_decimals_and_dates_have_a_date_format(
    client, as_admin, movements
):
    sheet = xlsx(
        report(client, as_admin, "inventory", format="xlsx", article_id=movements["paint"]["id"])
    ).active
    header = [c.value for c in sheet[1]]
    total = sheet.cell(row=2, column=header.index("total_qty") + 1)
    assert total.data_type == "n" and total.value == 7.5 and total.number_format == "0.00"
    expiry = sheet.cell(row=2, column=header.index("expiry_date") + 1)
    assert expiry.is_date and expiry.value == datetime(2030, 1, 1) and expiry.number_format == "yyyy-mm-dd"
    updated = sheet.cell(row=2, column=header.index("updated_at") + 1)
    assert updated.is_date and updated.number_format == "yyyy-mm-dd hh:mm:ss"
    paint = sheet.cell(row=2, column=header.index("is_paint") + 1)
    assert paint.data_type == "b" and paint.value is True


def test_formula_looking_text_is_escaped_as_in_the_csv_and_never_a_formula(client, as_admin, movements):
    sheet = xlsx(report(client, as_admin, "inventory", format="xlsx")).active
    header = [c.value for c in sheet[1]]
    column = header.index("description") + 1
    cells = [sheet.cell(row=n, column=column) for n in range(2, sheet.max_row + 1)]
    assert all(c.data_type == "s" for c in cells)  # text only: no formula, no shared-formula, no link
    descriptions = {excel_text(c.value) for c in cells}
    for text in RISKY:
        assert safe_text(text) in descriptions and safe_text(text) != text, text
    assert '\'=HYPERLINK("http://x","y")' in descriptions
    assert set(LITERAL) <= descriptions  # markup, escapes and addresses come out as the same text
    assert not sheet._hyperlinks


def test_the_header_is_bold_frozen_and_filtered_with_sensible_widths(client, as_admin, movements):
    sheet = xlsx(report(client, as_admin, "transactions", format="xlsx")).active
    assert sheet.title == "transactions"
    assert sheet.freeze_panes == "A2"
    assert all(c.font.b for c in sheet[1]) and not sheet["A2"].font.b
    last = openpyxl.utils.get_column_letter(sheet.max_column)
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"
    widths = {letter: dim.width for letter, dim in sheet.column_dimensions.items()}
    header = [c.value for c in sheet[1]]
    description = openpyxl.utils.get_column_letter(header.index("description") + 1)
    occurred = openpyxl.utils.get_column_letter(header.index("occurred_at") + 1)
    assert widths[occurred] >= len("2030-01-01 00:00:00")
    assert widths[description] >= len('=HYPERLINK("http://x","y")')
    assert all(workbook.MIN_WIDTH <= round(w) <= workbook.MAX_WIDTH + 1 for w in widths.values())


def test_reports_answer_xlsx_for_its_accept_header_and_json_or_csv_for_theirs(client, as_admin, movements):
    by_accept = report(client, {**as_admin, "Accept": XLSX}, "transactions")
    assert rows_of(xlsx(by_accept).active)[1]
    preferred = report(client, {**as_admin, "Accept": f"text/csv;q=0.5, {XLSX}"}, "inventory")
    assert preferred.headers["content-type"] == XLSX
    as_csv = report(client, {**as_admin, "Accept": f"text/csv, {XLSX};q=0.5"}, "inventory")
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert report(client, as_admin, "inventory").headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("chosen", ["pdf", "XLSX", "xls", ""])
def test_an_unknown_format_is_a_validation_error(client, as_admin, chosen):
    answer = report(client, as_admin, "inventory", format=chosen)
    assert answer.status_code == 400, answer.text
    assert answer.json["error"]["code"] == "VALIDATION_ERROR"
    assert "format" in answer.json["error"]["details"]["fields"]


def test_an_xlsx_report_with_a_bad_filter_answers_the_error_envelope(client, as_admin, as_operator):
    bad = report(client, as_admin, "transactions", format="xlsx", location_id="x")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "VALIDATION_ERROR"
    forbidden = report(client, as_operator, "inventory", format="xlsx")
    assert forbidden.status_code == 403 and forbidden.json["error"]["code"] == "FORBIDDEN"


def test_rows_past_a_sheets_limit_continue_on_another_sheet_under_the_same_header(
    client, as_admin, movements, monkeypatch
):
    monkeypatch.setattr(workbook, "SHEET_ROWS", 5)  # a header and four rows, as 1,048,576 rows would be
    items = report(client, as_admin, "transactions").json["items"]
    book = xlsx(report(client, as_admin, "transactions", format="xlsx"))
    assert len(items) == 13
    assert book.sheetnames == ["transactions", "transactions (2)", "transactions (3)", "transactions (4)"]
    ids = []
    for sheet in book.worksheets:
        header, rows = rows_of(sheet)
        assert header == list(items[0]) and sheet.freeze_panes == "A2"
        assert len(rows) == 4 or sheet is book.worksheets[-1]
        assert sheet.auto_filter.ref.endswith(str(len(rows) + 1))
        ids += [row["id"] for row in rows]
    assert ids == [item["id"] for item in items]


def test_an_export_that_fails_midway_answers_the_envelope_and_leaves_no_temporary_file(
    client, as_admin, movements, monkeypatch, tmp_path
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    written = []

    def fail_on_the_third_row(sheets, values):
        written.append(values)
        if len(written) == 3:
            raise RuntimeError("the disk is full")
        sheets.sheet.write_number(len(written), 0, 1)

    monkeypatch.setattr(workbook.Sheets, "write", fail_on_the_third_row)
    answer = report(client, as_admin, "transactions", format="xlsx")
    assert answer.status_code == 500 and answer.json["error"]["code"] == "INTERNAL_ERROR"
    assert len(written) == 3
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert report(client, as_admin, "transactions", format="xlsx").status_code == 200  # the pool is whole


def test_an_empty_report_is_a_workbook_with_only_the_header(client, as_admin):
    sheet = xlsx(report(client, as_admin, "transactions", format="xlsx")).active
    assert sheet.max_row == 1 and sheet["A1"].value == "id"


def test_openapi_lists_json_csv_and_xlsx_for_every_report(client):
    paths = client.simulate_get("/openapi.json").json["paths"]
    reports = [path for path, _ in REPORTS.values()]
    assert {path for path in paths if path.startswith("/api/reports/")} <= set(reports)
    for path in reports:
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv", XLSX} <= set(content), path
        chosen = next(p for p in paths[path]["get"]["parameters"] if p["name"] == "format")
        assert "xlsx" in chosen["schema"]["enum"]


@pytest.mark.server
def test_an_xlsx_export_of_100k_inventory_rows_keeps_the_worker_memory_flat(
    database_url, accounts, start_server
):
    rows = 100_000
    # gthread, whose main thread keeps reporting to gunicorn while an export runs (docs/decisions.md)
    server, worker, token = inventory_server(database_url, start_server, rows, "admin", threads=2)
    for article in (1, 2):  # warm up the whole path (imports, pool, allocator) with 1,000 rows
        with _get(server, f"/api/reports/inventory?format=xlsx&article_id={article}", token) as reply:
            assert len(reply.read()) > 0
    before = _rss_kb(worker)
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak.append(_rss_kb(worker))

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    try:
        with _get(server, "/api/reports/inventory?format=xlsx", token) as reply:
            assert reply.headers["Content-Type"] == XLSX
            body = reply.read()
            assert int(reply.headers["Content-Length"]) == len(body)
    finally:
        done.set()
        sampler.join()
    elapsed = time.monotonic() - started
    after = _rss_kb(worker)
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
    count = sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
    print(
        f"\nXLSX export of {count} inventory rows ({len(body) / 2**20:.1f} MiB) in {elapsed:.1f} s; worker RSS {before / 1024:.1f} "
        f"MiB before, peak {max(peak) / 1024:.1f} MiB, after {after / 1024:.1f} MiB"
    )
    assert count == rows
    assert max(peak) - before < 5 * 1024
    assert after - before < 5 * 1024
