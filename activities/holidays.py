"""Import a year's holiday notice into ``domain/holidays/<year>.toml`` (R-43).

Operators paste the arrangement lines of 国务院办公厅关于<year>年部分节假日安排的通知, e.g.::

    一、元旦：1月1日（周五）放假1天，不调休。
    二、春节：2月5日（农历除夕、周五）至12日（农历正月初七、周五）放假调休，共8天。2月20日（周六）上班。

and the tool shows the days it read, then writes the file in the format of
``domain/holidays/README.md`` (``holidays``: every day off of each block, weekend days inside it
included; ``workdays``: the 调休 working days)::

    python -m activities.holidays import --year 2027 notice.txt     # shows, asks, writes
    python -m activities.holidays import --year 2027 --dry-run - < notice.txt
    python -m activities.holidays import --year 2027 --yes notice.txt

Every date is checked against the weekday the notice gives in brackets (（周五）, （星期五）) and
every block against its day count (共8天), so a mistyped line is refused, not imported. Lines
starting with ``#`` and anything that is not a numbered arrangement line are ignored (the
first ``#`` line or a line naming the notice becomes ``source``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from domain import holiday_data, workdays

WEEKDAYS = "一二三四五六日"
_NUMBERED = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．]\s*(?P<name>[^：:]+?)\s*[：:]\s*(?P<body>.+)$")
_LP, _RP = r"[（(]", r"[）)]"
#: One date: optional year, optional month (else the previous date's), day, bracketed note.
_DATE = re.compile(
    rf"(?:(?P<y>\d{{4}})\s*年\s*)?(?:(?P<m>\d{{1,2}})\s*月\s*)?(?P<d>\d{{1,2}})\s*日"
    rf"\s*(?:{_LP}(?P<note>[^）)]*){_RP})?"
)
_WEEKDAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])")
_COUNT = re.compile(r"共\s*(\d+)\s*天")
_TITLE = re.compile(r"国务院办公厅关于\s*\d{4}\s*年部分节假日安排的通知")


class NoticeError(ValueError):
    """The text cannot be read as a notice for that year; the message says where."""


@dataclass
class Block:
    """One numbered line: the holiday's name, its days off and its 调休 working days."""

    name: str
    days_off: list[date] = field(default_factory=list)
    working: list[date] = field(default_factory=list)


@dataclass
class Notice:
    year: int
    source: str
    blocks: list[Block]

    @property
    def holidays(self) -> list[date]:
        return sorted({d for b in self.blocks for d in b.days_off})

    @property
    def workdays(self) -> list[date]:
        return sorted({d for b in self.blocks for d in b.working})


def _dates(text: str, year: int, where: str) -> list[date]:
    """The dates in ``text``, each checked against its bracketed weekday."""
    out: list[date] = []
    month: int | None = None
    y = year
    for m in _DATE.finditer(text):
        if m["y"]:
            y = int(m["y"])
        if m["m"]:
            month = int(m["m"])
        if month is None:
            raise NoticeError(f"{where}: day without a month in {m.group(0)!r}")
        try:
            d = date(y, month, int(m["d"]))
        except ValueError as e:
            raise NoticeError(f"{where}: no such date {m.group(0)!r} ({e})") from None
        wd = _WEEKDAY.search(m["note"] or "")
        if wd:
            want = 6 if wd.group(1) in "日天" else WEEKDAYS.index(wd.group(1))
            if d.weekday() != want:
                raise NoticeError(
                    f"{where}: {d} is a 周{WEEKDAYS[d.weekday()]}, the notice says "
                    f"{wd.group(0)} ({m.group(0)})"
                )
        out.append(d)
    return out


def _block(name: str, body: str, year: int, where: str) -> Block:
    block = Block(name=name)
    for sentence in filter(None, (s.strip() for s in re.split(r"[。；;]", body))):
        if "放假" in sentence:
            head = sentence.split("放假", 1)[0]
            found = _dates(head, year, where)
            if not found:
                raise NoticeError(f"{where}: no date before 放假 in {sentence!r}")
            if "至" in head and len(found) == 2:
                first, last = found
                if last < first:
                    raise NoticeError(f"{where}: {last} before {first} in {sentence!r}")
                days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            elif len(found) == 1:
                days = found
            else:
                raise NoticeError(f"{where}: cannot read the days off in {sentence!r}")
            count = _COUNT.search(sentence) or re.search(r"放假\s*(\d+)\s*天", sentence)
            if count and int(count.group(1)) != len(days):
                raise NoticeError(
                    f"{where}: {len(days)} days from {days[0]} to {days[-1]}, the notice says "
                    f"{count.group(0)}"
                )
            block.days_off += days
        elif "上班" in sentence:
            found = _dates(sentence, year, where)
            if not found:
                raise NoticeError(f"{where}: no date in {sentence!r}")
            block.working += found
    if not block.days_off:
        raise NoticeError(f"{where}: no days off (放假) in {name}")
    return block


def parse_notice(text: str, year: int) -> Notice:
    """Read the numbered arrangement lines of ``year``'s notice.

    Raises:
        NoticeError: no arrangement line, a date that does not exist or contradicts its
            weekday, a day count that does not match, a date outside ``year`` (or its
            preceding December), or a day both off and working.
    """
    source = f"国务院办公厅关于{year}年部分节假日安排的通知"
    blocks: list[Block] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        title = _TITLE.search(line)
        if title and not blocks:
            source = line.lstrip("#").strip() if line.startswith("#") else title.group(0)
            if not title.group(0).replace(" ", "").endswith(f"{year}年部分节假日安排的通知"):
                raise NoticeError(f"line {no}: the notice is not for {year}: {title.group(0)}")
        if not line or line.startswith("#"):
            continue
        m = _NUMBERED.match(line)
        if m is None or ("放假" not in m["body"]):
            continue
        blocks.append(_block(m["name"].strip(), m["body"], year, f"line {no} ({m['name']})"))
    if not blocks:
        raise NoticeError("no arrangement line found (一、元旦：1月1日（周五）放假…)")
    notice = Notice(year, source, blocks)
    for d in notice.holidays + notice.workdays:
        if not (d.year == year or (d.year == year - 1 and d.month == 12)):
            raise NoticeError(f"{d} is outside {year} (and its preceding December)")
    both = set(notice.holidays) & set(notice.workdays)
    if both:
        raise NoticeError(f"both off and working: {sorted(map(str, both))}")
    return notice


def _day(d: date) -> str:
    return f"{d.isoformat()}（周{WEEKDAYS[d.weekday()]}）"


def summary(notice: Notice) -> str:
    """What was read, for the operator to compare with the notice."""
    lines = [f"{notice.source}", ""]
    for b in notice.blocks:
        off = b.days_off
        span = _day(off[0]) if len(off) == 1 else f"{_day(off[0])} – {_day(off[-1])}"
        lines.append(f"  {b.name}: 放假 {span}, {len(off)} 天")
        if b.working:
            lines.append(f"      上班 {', '.join(_day(d) for d in b.working)}")
    odd = [d for d in notice.workdays if d.weekday() < 5]
    if odd:
        lines.append(f"  note: working days on a weekday (nothing changes for them): "
                     f"{', '.join(map(_day, odd))}")
    lines.append(f"  {len(notice.holidays)} days off, {len(notice.workdays)} adjusted working days")
    return "\n".join(lines)


def to_toml(notice: Notice) -> str:
    """The ``<year>.toml`` text (format: domain/holidays/README.md)."""

    def dates(ds: list[date], per_line: int = 5) -> str:
        rows = [", ".join(d.isoformat() for d in ds[i:i + per_line])
                for i in range(0, len(ds), per_line)]
        return "[\n" + "".join(f"  {r},\n" for r in rows) + "]" if ds else "[]"

    head = (f"# Holiday data for {notice.year}, written by `python -m activities.holidays import`\n"
            "# from the notice's arrangement lines; see README.md in this folder.\n")
    blocks = "".join(
        f"#   {b.name}: {b.days_off[0]}..{b.days_off[-1]}"
        + (f"; working {', '.join(map(str, b.working))}" if b.working else "") + "\n"
        for b in notice.blocks
    )
    source = notice.source.replace("\\", "\\\\").replace('"', '\\"')
    return (f"{head}{blocks}\nsource = \"{source}\"\n\n"
            f"# 放假: every day off of each holiday block, weekend days inside a block included.\n"
            f"holidays = {dates(notice.holidays)}\n\n"
            f"# 调休上班: Saturdays and Sundays that are working days.\n"
            f"workdays = {dates(notice.workdays)}\n")


def write(notice: Notice, folder: Path, *, force: bool = False) -> Path:
    """Write ``<year>.toml`` into ``folder`` after checking it reads back as written."""
    target = folder / f"{notice.year}.toml"
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists (use --force to replace it)")
    text = to_toml(notice)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, suffix=".tmp",
                                     delete=False) as f:
        f.write(text)
        tmp = Path(f.name)
    try:
        parsed = holiday_data.parse(tmp, notice.year)  # the loader's own validation
        if (sorted(parsed["holidays"]), sorted(parsed["workdays"])) != (
            notice.holidays, notice.workdays
        ):
            raise ValueError("the written file does not read back as the notice")
        tmp.replace(target)  # *.tmp is never loaded; the rename makes the file appear whole
    finally:
        tmp.unlink(missing_ok=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m activities.holidays",
        description="Turn the State Council's holiday notice into domain/holidays/<year>.toml.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="read the notice's numbered lines, show them, write")
    imp.add_argument("--year", type=int, required=True, help="the year the notice is for")
    imp.add_argument("file", nargs="?", default="-", help="text file of the notice; - = stdin")
    imp.add_argument("--dir", type=Path, default=None,
                     help="holidays folder (default: the one the system reads)")
    imp.add_argument("--yes", action="store_true", help="write without asking")
    imp.add_argument("--dry-run", action="store_true", help="show the file, write nothing")
    imp.add_argument("--force", action="store_true", help="replace an existing <year>.toml")
    args = parser.parse_args(argv)

    from_stdin = args.file == "-"
    text = sys.stdin.read() if from_stdin else Path(args.file).read_text(encoding="utf-8")
    try:
        notice = parse_notice(text, args.year)
    except NoticeError as e:
        print(f"cannot import: {e}", file=sys.stderr)
        return 2
    print(summary(notice))
    folder = args.dir or workdays.holidays_dir()
    if args.dry_run:
        print(f"\n--- {folder / f'{args.year}.toml'} (dry run, not written) ---")
        print(to_toml(notice), end="")
        return 0
    if not args.yes:
        if from_stdin or not sys.stdin.isatty():
            print("\nnot written: check the days above, then run again with --yes",
                  file=sys.stderr)
            return 1
        answer = input(f"\nwrite {folder / f'{args.year}.toml'}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not written")
            return 1
    try:
        target = write(notice, folder, force=args.force)
    except (FileExistsError, ValueError) as e:
        print(f"not written: {e}", file=sys.stderr)
        return 1
    print(f"\nwrote {target}\nnext: `python -m activities.deadlines recompute --all` so open "
          "cases replace their provisional deadlines (running workers pick the file up).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
