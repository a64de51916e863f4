"""The windows a drift detector measures: one per ``frequency`` period (a day; a week from
Monday; a calendar month), in UTC. Times without a zone are taken as UTC, times with one
are converted to it; every datetime here is naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from atelier.core.errors import ValidationError

FREQUENCIES = ("Day", "Week", "Month")
#: a backfill covers at most this many windows (ten years of days)
MAX_WINDOWS = 3660


def check_frequency(frequency: object) -> str:
    if frequency not in FREQUENCIES:
        raise ValidationError(f"frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}")
    return str(frequency)


def as_utc(value: Any, what: str) -> datetime:
    """A datetime, date or ISO string as a naive UTC datetime; ``ValidationError`` else."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                f"{what} {value!r} is not a date; use 'YYYY-MM-DD' or 'YYYY-MM-DDThh:mm:ss'"
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a datetime, a date or an ISO string, not {value!r}")
    moment: datetime = value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def period_start(moment: datetime, frequency: str) -> datetime:
    """The start of the window that holds ``moment``."""
    day = datetime(moment.year, moment.month, moment.day)
    if frequency == "Day":
        return day
    if frequency == "Week":
        return day - timedelta(days=day.weekday())
    return datetime(moment.year, moment.month, 1)


def next_start(start: datetime, frequency: str) -> datetime:
    if frequency == "Day":
        return start + timedelta(days=1)
    if frequency == "Week":
        return start + timedelta(days=7)
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1)


def window_of(moment: datetime, frequency: str) -> tuple[datetime, datetime]:
    start = period_start(moment, frequency)
    return start, next_start(start, frequency)


def windows_between(
    start_date: Any, end_date: Any, frequency: str
) -> list[tuple[datetime, datetime]]:
    """Every window from the one holding ``start_date`` to the last that starts before
    ``end_date``; ``ValidationError`` when the start is not before the end."""
    start = as_utc(start_date, "start_date")
    end = as_utc(end_date, "end_date")
    if start >= end:
        raise ValidationError(
            f"start_date {start.isoformat()} is not before end_date {end.isoformat()}"
        )
    found = []
    current = period_start(start, frequency)
    while current < end:
        following = next_start(current, frequency)
        found.append((current, following))
        if len(found) > MAX_WINDOWS:
            raise ValidationError(
                f"that is more than {MAX_WINDOWS} {frequency.lower()}s; backfill a shorter span"
            )
        current = following
    return found


def last_complete(now: datetime, frequency: str, latency_hours: int) -> tuple[datetime, datetime]:
    """The latest window that ended at least ``latency_hours`` before ``now`` (what a
    scheduled firing measures)."""
    settled = now - timedelta(hours=latency_hours)
    start = period_start(settled, frequency)
    previous = period_start(start - timedelta(days=1), frequency)
    return previous, start
