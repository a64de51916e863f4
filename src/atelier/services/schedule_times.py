"""When a recurrence fires: azureml's ``ScheduleRecurrence`` turned into APScheduler
triggers, which do the calendar arithmetic (time zones through zoneinfo, daylight saving,
months of different lengths).

    first_due_ms(recurrence, created_ms) -> int    # the first slot of a new or re-enabled schedule
    next_due_ms(recurrence, after_ms) -> int       # the first slot strictly after a moment

As in azureml: without ``start_time`` the first run is at once and the next ones follow the
recurrence from the moment the schedule was made; a ``start_time`` in the past means the
first run is at the next calculated time; ``hours`` / ``minutes`` / ``time_of_day`` and
``week_days`` pick the times within a day or a week, and where none is given the start
time's own time (and weekday) is used.

Errors: ``ValidationError`` when the recurrence breaks a rule (``core.schedules``) or can
never fire.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.calendarinterval import CalendarIntervalTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from atelier.core.errors import ValidationError
from atelier.core.schedules import WEEK_DAYS, check_recurrence, parse_start_time, zone_of

#: the longest walk from a calendar interval's start to now (a daily one: 100 years)
_MAX_STEPS = 40_000
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _aware(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _times(recurrence: dict[str, Any], start: datetime) -> tuple[list[int], list[int]]:
    """The hours and minutes of the day it fires at (the start time's when none is given)."""
    if recurrence.get("time_of_day"):
        hour, minute = recurrence["time_of_day"].split(":")
        return [int(hour)], [int(minute)]
    hours = recurrence.get("hours") or [start.hour]
    minutes = recurrence.get("minutes") or [start.minute]
    return hours, minutes


def _first_on(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def build_triggers(recurrence: dict[str, Any], created_ms: int) -> list[BaseTrigger]:
    """The APScheduler triggers of a (checked) recurrence for a schedule made at
    ``created_ms``: its slots are the union of their fire times. (Several calendar
    intervals are kept apart rather than in an ``OrTrigger``, which would hand one
    trigger's previous fire time to another.)"""
    zone: ZoneInfo = zone_of(recurrence.get("time_zone"))
    naive = parse_start_time(recurrence.get("start_time"))
    start = (naive.replace(tzinfo=zone) if naive else _aware(created_ms).astimezone(zone)).replace(
        microsecond=0
    )
    frequency, interval = recurrence["frequency"], recurrence["interval"]
    if frequency == "Minute":
        return [IntervalTrigger(minutes=interval, start_date=start, timezone=zone)]
    if frequency == "Hour":
        return [IntervalTrigger(hours=interval, start_date=start, timezone=zone)]
    if frequency == "Month":
        return [
            CalendarIntervalTrigger(
                months=interval,
                hour=start.hour,
                minute=start.minute,
                second=start.second,
                start_date=start.date(),
                timezone=zone,
            )
        ]
    hours, minutes = _times(recurrence, start)
    if frequency == "Day":
        if interval == 1:
            return [
                CronTrigger(
                    hour=_joined(hours), minute=_joined(minutes), start_date=start, timezone=zone
                )
            ]
        return [
            CalendarIntervalTrigger(
                days=interval, hour=hour, minute=minute, start_date=start.date(), timezone=zone
            )
            for hour, minute in product(hours, minutes)
        ]
    week_days = recurrence.get("week_days") or [WEEK_DAYS[start.weekday()]]
    weekdays = [WEEK_DAYS.index(day) for day in week_days]
    if interval == 1:
        return [
            CronTrigger(
                day_of_week=",".join(_CRON_DAYS[day] for day in weekdays),
                hour=_joined(hours),
                minute=_joined(minutes),
                start_date=start,
                timezone=zone,
            )
        ]
    # every n weeks on several days: one calendar interval per (weekday, time), each
    # anchored on that weekday's first date in the start week
    week_start = start.date() - timedelta(days=start.weekday())
    return [
        CalendarIntervalTrigger(
            weeks=interval,
            hour=hour,
            minute=minute,
            start_date=_first_on(week_start, day),
            timezone=zone,
        )
        for day, hour, minute in product(weekdays, hours, minutes)
    ]


def _joined(values: list[int]) -> str:
    return ",".join(str(value) for value in values)


def _walk(trigger: BaseTrigger, moment: datetime) -> datetime | None:
    fire: datetime | None = trigger.get_next_fire_time(None, moment)
    # calendar intervals answer their start date first; walk on, one whole interval a
    # step, to the first at or after the moment
    for _ in range(_MAX_STEPS):
        if fire is None or fire >= moment:
            break
        fire = trigger.get_next_fire_time(fire, moment)
    return fire


def _next_fire(triggers: list[BaseTrigger], after: datetime, not_before: datetime) -> datetime:
    """The triggers' first fire time strictly after ``after`` and not before
    ``not_before``."""
    moment = max(after + timedelta(milliseconds=1), not_before)
    found = []
    for trigger in triggers:
        try:
            fire = _walk(trigger, moment)
        except (OverflowError, ValueError):  # past the calendar's end (year 9999)
            fire = None
        if fire is not None and fire >= moment:
            found.append(fire)
    if not found:
        raise ValidationError("this recurrence never fires again; check its start_time and days")
    return min(found)


def first_due_ms(recurrence: dict[str, Any], created_ms: int) -> int:
    """The first slot of a schedule made (or enabled) at ``created_ms``: at once without a
    start time, else the first calculated time at or after both the start and now."""
    checked = check_recurrence(recurrence)
    if checked.get("start_time") is None:
        return created_ms - created_ms % 1000  # whole seconds, as the triggers count

    triggers = build_triggers(checked, created_ms)
    return _ms(_next_fire(triggers, _aware(created_ms - 1), _aware(created_ms)))


def next_due_ms(recurrence: dict[str, Any], created_ms: int, after_ms: int) -> int:
    """The first slot strictly after ``after_ms``: where a scheduler that fired (or missed)
    every slot up to ``after_ms`` goes next, so missed slots collapse into one firing."""
    triggers = build_triggers(check_recurrence(recurrence), created_ms)
    return _ms(_next_fire(triggers, _aware(after_ms), _aware(after_ms)))
