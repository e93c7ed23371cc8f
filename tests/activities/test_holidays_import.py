"""The notice importer (`python -m activities.holidays import`, R-43, issue 14): the 2025 and
2026 notices give exactly the official data chinese_calendar has for those years."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from activities.holidays import NoticeError, main, parse_notice, to_toml, write
from config import ROOT
from domain import workdays

#: Copies of ../shared/data/holiday-notices (the arrangement lines as published).
NOTICES = Path(__file__).resolve().parents[1] / "data" / "holiday-notices"


def official(year: int) -> tuple[list[date], list[date]]:
    return (sorted(d for d in chinese_calendar.holidays if d.year == year),
            sorted(d for d in chinese_calendar.workdays if d.year == year))


@pytest.mark.parametrize("year", [2025, 2026])
def test_notice_gives_the_official_data(year: int) -> None:
    notice = parse_notice((NOTICES / f"{year}.txt").read_text("utf-8"), year)
    assert (notice.holidays, notice.workdays) == official(year)
    assert notice.source.startswith(f"国务院办公厅关于{year}年部分节假日安排的通知")


@pytest.mark.parametrize("year", [2025, 2026])
def test_written_file_is_loaded_as_the_official_calendar(year: int, tmp_path: Path) -> None:
    notice = parse_notice((NOTICES / f"{year}.txt").read_text("utf-8"), year)
    target = write(notice, tmp_path)
    assert target == tmp_path / f"{year}.toml"
    workdays.set_holidays_dir(tmp_path)
    try:
        d = date(year, 1, 1)
        while d.year == year:
            assert workdays.is_working_day(d) == chinese_calendar.is_workday(d), d
            d += timedelta(days=1)
        assert workdays.has_official_data(year)
    finally:
        workdays.set_holidays_dir(None)
    with pytest.raises(FileExistsError):
        write(notice, tmp_path)
    write(notice, tmp_path, force=True)


def test_seven_lines_and_a_made_up_2027() -> None:
    text = """
国务院办公厅关于2027年部分节假日安排的通知
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月5日（农历除夕、周五）至12日（农历正月初七、周五）放假调休，共8天。2月20日（周六）上班。
三、清明节：4月3日（周六）至5日（周一）放假，共3天。
四、劳动节：5月1日（周六）至5日（周三）放假调休，共5天。4月25日（周日）、5月8日（周六）上班。
五、端午节：6月9日（周三）放假，共1天。
六、中秋节：9月15日（周三）放假，共1天。
七、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。
"""
    n = parse_notice(text, 2027)
    assert [b.name for b in n.blocks] == ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    assert len(n.holidays) == 3 + 8 + 3 + 5 + 1 + 1 + 7
    assert n.workdays == [date(2027, 2, 20), date(2027, 4, 25), date(2027, 5, 8),
                          date(2027, 9, 26), date(2027, 10, 9)]
    assert "2027-02-12" in to_toml(n)


@pytest.mark.parametrize(
    "line, message",
    [
        ("一、元旦：1月1日（周四）放假1天，不调休。", "is a 周五"),  # wrong weekday
        ("一、元旦：1月1日（周五）至3日（周日）放假，共4天。", "the notice says 共4天"),
        ("一、元旦：2月30日（周五）放假1天。", "no such date"),
        ("一、元旦：1月1日（周五）放假1天。1月1日（周五）上班。", "both off and working"),
        ("元旦放假一天", "no arrangement line"),
        ("一、元旦：2026年11月3日（周二）放假1天。", "outside 2027"),
    ],
)
def test_mistakes_are_refused(line: str, message: str) -> None:
    with pytest.raises(NoticeError, match=message):
        parse_notice(line, 2027)


def test_notice_for_another_year_is_refused() -> None:
    text = (NOTICES / "2026.txt").read_text("utf-8")
    with pytest.raises(NoticeError, match="not for 2027|is a 周"):
        parse_notice(text, 2027)


def test_cli_dry_run_yes_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = str(NOTICES / "2026.txt")
    assert main(["import", "--year", "2026", "--dir", str(tmp_path), "--dry-run", src]) == 0
    out = capsys.readouterr().out
    assert "春节: 放假 2026-02-15（周日） – 2026-02-23（周一）, 9 天" in out
    assert "上班 2026-02-14（周六）, 2026-02-28（周六）" in out
    assert "33 days off, 6 adjusted working days" in out
    assert not (tmp_path / "2026.toml").exists()
    assert main(["import", "--year", "2026", "--dir", str(tmp_path), "--yes", src]) == 0
    assert (tmp_path / "2026.toml").is_file()
    assert main(["import", "--year", "2026", "--dir", str(tmp_path), "--yes", src]) == 1  # exists
    assert main(["import", "--year", "2027", "--dir", str(tmp_path), "--yes", src]) == 2


@pytest.mark.slow  # a subprocess or an embedded server
def test_cli_from_stdin_needs_yes(tmp_path: Path) -> None:
    text = (NOTICES / "2025.txt").read_text("utf-8")
    run = [sys.executable, "-m", "activities.holidays", "import", "--year", "2025",
           "--dir", str(tmp_path)]
    out = subprocess.run(run, input=text, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 1 and "--yes" in out.stderr and not (tmp_path / "2025.toml").exists()
    out = subprocess.run([*run, "--yes"], input=text, capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout and (tmp_path / "2025.toml").is_file()
