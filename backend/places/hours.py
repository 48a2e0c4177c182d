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
from datetime import date, datetime, timedelta

from opening_hours import OpeningHours, ParserError
from sqlalchemy.orm import Session

from backend.core.clock import to_business_time
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
    """One moment of one request: its business time and day kind, looked up once, and the
    answer for any number of places."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.at = to_business_time(at)
        self.day_kind = holiday_calendar.day_kind(session, self.at.date())

    def is_open(self, expression: str | None) -> bool:
        if not expression:
            return False
        return is_open(expression, self.at, self.day_kind)
