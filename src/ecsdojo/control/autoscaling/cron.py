"""The cron expressions of Application Auto Scaling's scheduled actions: cron(minutes hours day-of-month month
day-of-week year), parsed and matched. Written here because its dialect (six fields, a year, ? and L and W
and #, names of months and days) is AWS's own, not the five-field crontab that libraries parse.

Example::

    CronExpression.parse("0 9 ? * MON-FRI *").matches(datetime(2026, 12, 1, 9, 0))   # True (a Tuesday)
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ecsdojo.control.autoscaling.policies import ScheduledActionError

# --- scheduled scaling -------------------------------------------------------------------------------------

_MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_MAX_LOOKBACK = timedelta(days=400)


def _parse_values(text: str, low: int, high: int, names: Mapping[str, int], action: str, field_name: str) -> frozenset[int]:
    """A cron field made of `*`, numbers or names, `a-b` ranges, `/step` increments and `,` lists."""
    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise ScheduledActionError(action, field_name, f"{token!r} is not a value between {low} and {high}")
        value = int(token)
        if not low <= value <= high:
            raise ScheduledActionError(action, field_name, f"{value} is outside {low}-{high}")
        return value

    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduledActionError(action, field_name, f"bad increment {step_text!r}")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            first, last = number(start_text), number(end_text)
            if last < first:
                raise ScheduledActionError(action, field_name, f"range {base!r} runs backwards")
        else:
            first = number(base)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    """An Application Auto Scaling cron expression: six fields, `Minutes Hours Day-of-month Month
    Day-of-week Year` (EventBridge syntax: day-of-week 1-7 = SUN-SAT).

    Supported: `*`, `?` (in exactly one of the two day fields), numbers, `JAN-DEC` / `SUN-SAT` names,
    ranges `a-b`, increments `a/n` and `*/n`, lists `a,b`, `L` (last day of the month) in day-of-month,
    `n#k` (k-th weekday n of the month) and `nL` (last weekday n of the month) in day-of-week. Not
    supported (clear error): `W`, `LW`, `L-n`, the optional seventh (seconds) field.
    """
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None        # None: '?'
    last_day_of_month: bool
    months: frozenset[int]
    days_of_week: frozenset[int] | None         # None: '?'
    nth_weekdays: frozenset[tuple[int, int]]    # (weekday 1-7, k), k = -1 for the last one
    years: frozenset[int]

    @classmethod
    def parse(cls, text: str, *, action: str = "?") -> CronExpression:
        fields = text.split()
        if len(fields) != 6:
            raise ScheduledActionError(action, "Schedule",
                                       f"cron({text}) needs 6 fields: Minutes Hours Day-of-month Month "
                                       f"Day-of-week Year (got {len(fields)})")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduledActionError(action, "Schedule",
                                       "use ? in exactly one of Day-of-month and Day-of-week")
        last_day = False
        days_of_month = None
        if dom != "?":
            items = dom.split(",")
            if any(re.fullmatch(r"\d*W|LW|L-\d+", item) for item in items):
                raise ScheduledActionError(action, "Schedule", f"day-of-month {dom!r}: W and L-n are not supported")
            last_day = "L" in items
            rest = ",".join(item for item in items if item != "L")
            days_of_month = _parse_values(rest, 1, 31, {}, action, "Schedule (day-of-month)") if rest else frozenset()
        days_of_week = None
        nth: set[tuple[int, int]] = set()
        if dow != "?":
            plain = []
            for item in dow.split(","):
                match = re.fullmatch(r"(\w+)#([1-5])", item)
                last = re.fullmatch(r"(\w+)L", item)
                if match:
                    weekday = _parse_values(match.group(1), 1, 7, _DAYS, action, "Schedule (day-of-week)")
                    nth.update((w, int(match.group(2))) for w in weekday)
                elif last and item != "L":
                    weekday = _parse_values(last.group(1), 1, 7, _DAYS, action, "Schedule (day-of-week)")
                    nth.update((w, -1) for w in weekday)
                elif item == "L":
                    raise ScheduledActionError(action, "Schedule", "day-of-week L alone is not supported; use 7 or SAT")
                else:
                    plain.append(item)
            days_of_week = (_parse_values(",".join(plain), 1, 7, _DAYS, action, "Schedule (day-of-week)")
                            if plain else frozenset())
        return cls(
            minutes=_parse_values(minute, 0, 59, {}, action, "Schedule (minutes)"),
            hours=_parse_values(hour, 0, 23, {}, action, "Schedule (hours)"),
            days_of_month=days_of_month,
            last_day_of_month=last_day,
            months=_parse_values(month, 1, 12, _MONTHS, action, "Schedule (month)"),
            days_of_week=days_of_week,
            nth_weekdays=frozenset(nth),
            years=_parse_values(year, 1970, 2199, {}, action, "Schedule (year)"),
        )

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days_of_month is not None:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day in self.days_of_month or (self.last_day_of_month and day.day == last)
        weekday = (day.weekday() + 1) % 7 + 1          # Python Monday=0 -> cron SUN=1 .. SAT=7
        if self.days_of_week and weekday in self.days_of_week:
            return True
        for wanted, k in self.nth_weekdays:
            if wanted != weekday:
                continue
            if k == -1 and day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
                return True
            if k > 0 and (day.day - 1) // 7 + 1 == k:
                return True
        return False

    def latest_between(self, after: datetime, until: datetime, zone: ZoneInfo) -> datetime | None:
        """The latest firing time t (UTC) with after < t <= until, or None. Looks back at most 400 days."""
        after = max(after, until - _MAX_LOOKBACK)
        first_day = after.astimezone(zone).date()
        day = until.astimezone(zone).date()
        while day >= first_day:
            if self.matches_day(day):
                for hour in sorted(self.hours, reverse=True):
                    for minute in sorted(self.minutes, reverse=True):
                        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        moment = moment.astimezone(timezone.utc)
                        if after < moment <= until:
                            return moment
            day -= timedelta(days=1)
        return None


