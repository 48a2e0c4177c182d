"""Opening hours in OpenStreetMap `opening_hours` syntax, evaluated against our holiday calendar.

The parser is opening-hours-py, always without a country calendar: whether a day is a
statutory holiday (放假) or a make-up working day (调休上班) comes from the holiday_calendar
table (backend.places.calendar), and this module decides what that means for an expression:

- ordinary day: the parser's own answer (so `PH` rules never match);
- holiday: only the rules that mention `PH` apply, as if the day matched `PH`; closed without one;
- make-up working day: the hours of a nearby ordinary weekday (`reference_workday`).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from opening_hours import OpeningHours, ParserError, State
from sqlalchemy.orm import Session

from backend.core.clock import BUSINESS_TZ, to_business_time
from backend.core.errors import InvalidInput
from backend.places import calendar as holiday_calendar
from backend.places.calendar import HOLIDAY, WORKDAY

log = logging.getLogger(__name__)

MAX_LENGTH = 500  # the width of place.opening_hours
PARSE_CACHE_SIZE = 4096
FIELD = "openingHours"
EXAMPLE = "Mo-Fr 09:00-12:00,13:30-17:00; PH off"

# The parser's canonical text (str(OpeningHours)) separates rules by "; ", ", " (additional
# rule) or " || " (fallback); commas inside a selector or a time list carry no space.
_RULE_SEPARATOR = re.compile(r"; |, | \|\| ")
_COMMENT = re.compile(r'"[^"]*"')
# `PH` as a day selector; "PH -1 days" / "PH 1 days" (canonical "+1 day") are days next to a
# holiday, not the holiday itself.
_PH = re.compile(r"(?<![A-Za-z])PH(?![A-Za-z])(?!\s+-?\d+\s+days?\b)")
_PARSER_POSITION = re.compile(r"-->\s*(\d+):(\d+)")
_PARSER_REASON = re.compile(r"^\s*=\s*(.+)$", re.MULTILINE)
_PARSER_PLAIN = re.compile(r"^Failed to parse expression:\s*([^-\s].*)$")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def validate_opening_hours(text: str) -> str:
    """The expression to store (stripped), or InvalidInput with a Chinese message."""
    expression = text.strip()
    if not expression:
        raise InvalidInput(f"营业时间格式无效：不能为空，如 {EXAMPLE}", FIELD)
    if len(expression) > MAX_LENGTH:
        raise InvalidInput(f"营业时间格式无效：最多 {MAX_LENGTH} 个字符", FIELD)
    try:
        _parse(expression)
    except (ParserError, ValueError) as error:
        raise InvalidInput(f"营业时间格式无效：{_explain(expression, error)}", FIELD) from error
    return expression


def _explain(expression: str, error: Exception) -> str:
    """Where the parser stopped and why, in Chinese, with the parser's own words in brackets."""
    message = str(error)
    position = _PARSER_POSITION.search(message)
    reason = _PARSER_REASON.search(message)
    where = f"第 {position[2]} 个字符处无法识别" if position else "无法识别"
    if position and position[1] != "1":
        where = f"第 {position[1]} 行第 {position[2]} 个字符处无法识别"
    if reason is None:  # a semantic refusal ("Inverted year ranges…") has no position
        reason = _PARSER_PLAIN.search(message)
    detail = f"（{reason[1].strip()}）" if reason else ""
    hint = "；请使用半角（英文）字符" if _NON_ASCII.search(_COMMENT.sub("", expression)) else ""
    return f"{where}{detail}{hint}。请使用 OpenStreetMap opening_hours 格式，如 {EXAMPLE}"


def _parse(expression: str) -> OpeningHours:
    # No country calendar and no time zone guessing: holidays come from our table, and every
    # time handed to the parser is already a naive Asia/Shanghai wall-clock time.
    return OpeningHours(expression, auto_country=False, auto_timezone=False)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def compiled(expression: str) -> OpeningHours | None:
    """The parsed expression, or None (logged once) for a stored value the parser refuses."""
    try:
        return _parse(expression)
    except (ParserError, ValueError) as error:
        log.warning("opening_hours not understood, treated as closed: %r (%s)", expression,
                    str(error).splitlines()[0])
        return None


def holiday_expression(expression: str) -> str | None:
    """The rules of the expression that mention `PH`, with `PH` replaced by every day (`Mo-Su`),
    or None when it has no such rule. Works on the parser's canonical text, where quoted
    comments are the only place a separator or the letters PH can hide."""
    parsed = compiled(expression)
    if parsed is None:
        return None
    canonical = str(parsed)
    kept: list[str] = []
    for separator, rule in _split_rules(canonical):
        code = _COMMENT.sub(lambda comment: " " * len(comment[0]), rule)
        if not _PH.search(code):
            continue
        rewritten = _replace_outside_comments(rule, code)
        kept.append(rewritten if not kept else f"{separator}{rewritten}")
    return "".join(kept) or None


def _split_rules(canonical: str) -> list[tuple[str, str]]:
    """(separator before it, rule text) for each rule; the first has an empty separator."""
    code = _COMMENT.sub(lambda comment: " " * len(comment[0]), canonical)
    rules: list[tuple[str, str]] = []
    start, separator = 0, ""
    for match in _RULE_SEPARATOR.finditer(code):
        rules.append((separator, canonical[start:match.start()]))
        start, separator = match.end(), match[0]
    rules.append((separator, canonical[start:]))
    return rules


def _replace_outside_comments(rule: str, code: str) -> str:
    # `code` is `rule` with comments blanked out, same length: positions line up.
    parts: list[str] = []
    last = 0
    for match in _PH.finditer(code):
        parts.append(rule[last:match.start()])
        parts.append("Mo-Su")
        last = match.end()
    parts.append(rule[last:])
    return "".join(parts)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def compiled_for_holiday(expression: str) -> OpeningHours | None:
    """The expression as it applies on a statutory holiday; None means closed all day."""
    rewritten = holiday_expression(expression)
    if rewritten is None:
        return None
    try:
        return _parse(rewritten)
    except (ParserError, ValueError) as error:
        log.warning("PH rules of opening_hours %r not understood (%r), closed on holidays: %s",
                    expression, rewritten, str(error).splitlines()[0])
        return None


def reference_workday(day: date) -> date:
    """The ordinary weekday whose hours a make-up working day (调休上班) keeps.

    The weekday next to it: Saturday → the Friday before, Sunday → the Monday after; when that
    falls in another month (month selectors such as `Jul-Aug` must still see the same month), the
    other side: Saturday → the Monday after, Sunday → the Friday before. A make-up day that is
    itself Monday–Friday (only by hand) keeps its own hours. The parser knows no holidays, so a
    reference date that happens to be a holiday in our calendar is still read as a weekday."""
    weekday = day.weekday()
    if weekday < 5:
        return day
    near, far = (-1, 2) if weekday == 5 else (1, -2)
    candidate = day + timedelta(days=near)
    if candidate.month != day.month:
        candidate = day + timedelta(days=far)
    return candidate


def is_open(expression: str, at: datetime, day_kind: str | None) -> bool:
    """Whether a place with these hours is open at `at`, on a day of this kind (None: ordinary,
    "holiday", "workday"). Unknown or unparsable hours are not open."""
    text = expression.strip()
    if not text:  # the parser reads "" as 24/7
        return False
    local = to_business_time(at).replace(tzinfo=None)
    if day_kind == HOLIDAY:
        parsed = compiled_for_holiday(text)
    else:
        parsed = compiled(text)
        if day_kind == WORKDAY:
            local = datetime.combine(reference_workday(local.date()), local.time())
    return parsed is not None and parsed.is_open(local)


class OpenAt:
    """One moment of one request and the answer for any number of places. The calendar of
    the fortnight ahead is read once, on first use: `is_open` needs only the day's kind and
    `status` the days ahead, and one statement answers both."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.at = to_business_time(at)
        self._session = session
        self._days: dict[date, tuple[str, str]] | None = None
        self._day_kind: tuple[str | None] | None = None  # read with other rows (`prime_day_kind`)

    @property
    def days(self) -> dict[date, tuple[str, str]]:
        if self._days is None:
            self._days = holiday_calendar.days_from(self._session, self.at.date(), STATUS_DAYS)
        return self._days

    @property
    def day_kind(self) -> str | None:
        if self._days is None and self._day_kind is not None:
            return self._day_kind[0]
        return self.days.get(self.at.date(), (None, None))[0]

    def prime_day_kind(self, stored_kind: str | None) -> None:
        """The stored kind of this moment's day (`calendar.day_kind_column`), read by a
        statement the request sent anyway: `is_open` then needs no statement of its own."""
        self._day_kind = (holiday_calendar.listed_kind(stored_kind),)

    def is_open(self, expression: str | None) -> bool:
        if not expression:
            return False
        return is_open(expression, self.at, self.day_kind)

    def status(self, expression: str) -> OpeningStatus:
        """The opening status at this moment."""
        return opening_status(expression, self.at, self.days)


STATUS_DAYS = 14  # how far ahead the next opening is looked for


@dataclass(frozen=True)
class OpeningStatus:
    """What a resident wants to know before setting off: open now, until when, or when next."""

    is_open: bool
    closes_at: datetime | None  # while open: the end of the current opening
    next_open_at: datetime | None  # while closed: the next opening within STATUS_DAYS
    day_note: str | None  # the day's holiday (放假) or make-up working day (调休上班), if any


def _day_parsed(text: str, day: date, kind: str | None) -> tuple[OpeningHours | None, date]:
    """The expression as it applies on `day`, and the date the parser must be asked about."""
    if kind == HOLIDAY:
        return compiled_for_holiday(text), day
    return compiled(text), reference_workday(day) if kind == WORKDAY else day


def opening_status(expression: str, at: datetime,
                   days: dict[date, tuple[str, str]]) -> OpeningStatus:
    """Open or not at `at`, the end of the current opening or the next one, and the day's
    note; `days` maps a date to (kind, name) for the calendar rows from `at`'s day on."""
    local = to_business_time(at)
    today = local.date()
    kind, name = days.get(today, (None, None))
    note = (f"今日{name}，放假" if kind == HOLIDAY
            else "今日调休上班（按工作日时间）" if kind == WORKDAY else None)
    text = expression.strip()
    open_now = bool(text) and is_open(text, local, kind)
    closes_at = next_open_at = None
    for offset in range(STATUS_DAYS if text else 0):
        day = today + timedelta(days=offset)
        parsed, asked = _day_parsed(text, day, days.get(day, (None, None))[0])
        if parsed is None:
            if open_now:  # closed all day: the opening ended at midnight
                closes_at = datetime.combine(day, datetime.min.time(), tzinfo=BUSINESS_TZ)
                break
            continue
        start = local.replace(tzinfo=None) if offset == 0 else datetime.combine(day, time())
        shift = datetime.combine(asked, time()) - datetime.combine(day, time())
        end = datetime.combine(day + timedelta(days=1), time())
        found = None
        for begins, _ends, state, _comment in parsed.intervals(start + shift, end + shift):
            if (state == State.OPEN) != open_now:
                found = begins
                break
        if found is not None:
            moment = (found - shift).replace(tzinfo=BUSINESS_TZ)
            if open_now:
                closes_at = moment
            else:
                next_open_at = moment
            break
    return OpeningStatus(open_now, closes_at, next_open_at, note)
