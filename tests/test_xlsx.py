"""The .xlsx writer for sheets of any length (bot/xlsx.py), read back with openpyxl: values and
their types, text that must stay text, the heading's look, frozen heading, widths and wrapping,
several sheets, and memory that does not grow with the rows."""
from __future__ import annotations

import resource
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from bot.xlsx import column_letter, write_workbook
from web.sheets import Sheet


def test_values_come_back_as_written(tmp_path):
    rows = [
        [1, "=HYPERLINK(\"http://x\")", 2.5, "0012"],  # a formula-looking text and a number-looking text
        [2, "  前后有空格  ", None, ""],
        [3, "控制\x01字符<b>&amp;", True, Decimal("1.25")],
        [4, "换行\n第二行", 10 ** 12, float("nan")],
    ]
    write_workbook(tmp_path / "a.xlsx", [Sheet("台账", ["序号", "内容", "数", "编号"], rows, [6, 40, 8, 8], {1})])
    sheet = load_workbook(tmp_path / "a.xlsx").active
    assert list(sheet.iter_rows(values_only=True)) == [
        ("序号", "内容", "数", "编号"),
        (1, '=HYPERLINK("http://x")', 2.5, "0012"),
        (2, "  前后有空格  ", None, None),
        (3, "控制字符<b>&amp;", True, 1.25),
        (4, "换行\n第二行", 10 ** 12, "nan"),
    ]
    assert sheet["B2"].data_type == "s" and sheet["D2"].data_type == "s"  # text, never a formula or a number


def test_the_heading_is_styled_and_frozen_and_the_columns_sized(tmp_path):
    write_workbook(tmp_path / "b.xlsx", [Sheet("台账", ["序号", "内容"], [[1, "x"]], [6, 40], {1})])
    sheet = load_workbook(tmp_path / "b.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb == "FFFCE4D6"
    assert not sheet["A2"].font.b
    assert sheet.column_dimensions["A"].width == 6 and sheet.column_dimensions["B"].width == 40
    assert sheet["B2"].alignment.wrap_text and not sheet["A2"].alignment.wrap_text


def test_several_sheets_in_order_and_bad_names_refused(tmp_path):
    sheets = [Sheet("月度汇总", ["月份"], [["2026-11"]]), Sheet("2026-11分区域", ["层级"], iter([["社区"], ["网格"]]))]
    write_workbook(tmp_path / "c.xlsx", sheets)
    book = load_workbook(tmp_path / "c.xlsx", read_only=True)
    assert book.sheetnames == ["月度汇总", "2026-11分区域"]
    assert list(book["2026-11分区域"].iter_rows(values_only=True)) == [("层级",), ("社区",), ("网格",)]
    with pytest.raises(ValueError):
        write_workbook(tmp_path / "d.xlsx", [Sheet("a/b", ["x"], [])])


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_memory_stays_flat_whatever_the_rows(tmp_path):
    def rows(n):
        for i in range(n):
            yield [i, f"心愿内容{i}" * 5, "社区/网格", "已圆梦", i * 0.5]

    write_workbook(tmp_path / "warm.xlsx", [Sheet("台账", ["a", "b", "c", "d", "e"], rows(2000))])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    write_workbook(tmp_path / "big.xlsx", [Sheet("台账", ["a", "b", "c", "d", "e"], rows(100_000))])
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 15, grown_mb  # the rows are never held: a list of them would take about 50 MB
    last = None
    for last in load_workbook(tmp_path / "big.xlsx", read_only=True).active.iter_rows(values_only=True):
        pass
    assert last == (99_999, "心愿内容99999" * 5, "社区/网格", "已圆梦", 49_999.5)
