"""Recurrence arithmetic (on APScheduler's triggers) and the rules of an impossible
recurrence: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from atelier.core.errors import ValidationError
from atelier.core.schedules import check_recurrence
from atelier.services.schedule_times import first_due_ms, next_due_ms


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def iso(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


def slots(recurrence: dict[str, Any], created: str, count: int = 4) -> list[str]:
    made = ms(created)
    found = [first_due_ms(recurrence, made)]
    while len(found) < count:
        found.append(next_due_ms(recurrence, made, found[-1]))
    return [iso(value) for value in found]


def test_without_a_start_time_the_first_slot_is_at_once() -> None:
    recurrence = {"frequency": "Hour", "interval": 1}
    assert slots(recurrence, "2026-12-06T10:07:00", 3) == [
        "2026-12-06T10:07",
        "2026-12-06T11:07",
        "2026-12-06T12:07",
    ]


def test_a_start_time_in_the_past_fires_first_at_the_next_calculated_time() -> None:
    recurrence = {"frequency": "Minute", "interval": 15, "start_time": "2026-12-06T10:00:00"}
    assert slots(recurrence, "2026-12-06T10:07:30", 3) == [
        "2026-12-06T10:15",
        "2026-12-06T10:30",
        "2026-12-06T10:45",
    ]


def test_daily_hours_and_minutes() -> None:
    recurrence = {
        "frequency": "Day",
        "interval": 1,
        "hours": [17, 9],
        "minutes": [30, 0],
        "start_time": "2026-12-01T00:00:00",
    }
    assert slots(recurrence, "2026-12-06T10:00:00") == [
        "2026-12-06T17:00",
        "2026-12-06T17:30",
        "2026-12-07T09:00",
        "2026-12-07T09:30",
    ]


def test_every_other_week_on_two_days() -> None:
    recurrence = {
        "frequency": "Week",
        "interval": 2,
        "week_days": ["Wednesday", "Monday"],
        "time_of_day": "07:00",
        "start_time": "2026-11-01T00:00:00",  # the Monday of its week: 2026-10-26
    }
    assert slots(recurrence, "2026-12-06T10:00:00") == [
        "2026-12-07T07:00",
        "2026-12-09T07:00",
        "2026-12-21T07:00",
        "2026-12-23T07:00",
    ]


def test_time_zones_follow_daylight_saving() -> None:
    """9:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer."""
    recurrence = {
        "frequency": "Day",
        "interval": 1,
        "time_of_day": "09:00",
        "time_zone": "Romance Standard Time",
        "start_time": "2027-03-26T00:00:00",
    }
    assert slots(recurrence, "2027-03-26T12:00:00", 3) == [
        "2027-03-27T08:00",
        "2027-03-28T07:00",
        "2027-03-29T07:00",
    ]


def test_monthly_skips_days_a_month_lacks() -> None:
    recurrence = {"frequency": "Month", "interval": 1, "start_time": "2027-01-31T12:00:00"}
    assert slots(recurrence, "2027-01-01T00:00:00", 3) == [
        "2027-01-31T12:00",
        "2027-03-31T12:00",
        "2027-05-31T12:00",
    ]


def test_missed_slots_collapse_into_the_next_one_after_now() -> None:
    recurrence = {"frequency": "Minute", "interval": 5, "start_time": "2026-12-06T10:00:00"}
    made = ms("2026-12-06T10:00:00")
    assert iso(next_due_ms(recurrence, made, ms("2026-12-06T13:02:00"))) == "2026-12-06T13:05"


@pytest.mark.parametrize(
    ("recurrence", "says"),
    [
        ({"frequency": "Fortnight", "interval": 1}, "frequency"),
        ({"frequency": "Day", "interval": 0}, "interval"),
        ({"frequency": "Day", "interval": "2"}, "interval"),
        ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours"),
        ({"frequency": "Day", "interval": 1, "minutes": [-1]}, "minutes"),
        ({"frequency": "Hour", "interval": 1, "hours": [3]}, "only when frequency"),
        ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "week_days"),
        ({"frequency": "Week", "interval": 1, "week_days": ["Funday"]}, "Funday"),
        ({"frequency": "Day", "interval": 1, "time_of_day": "25:00"}, "time_of_day"),
        (
            {"frequency": "Day", "interval": 1, "time_of_day": "09:00", "hours": [9]},
            "either time_of_day",
        ),
        ({"frequency": "Day", "interval": 1, "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"frequency": "Day", "interval": 1, "start_time": "next tuesday"}, "start_time"),
        ({"frequency": "Day", "interval": 1, "start_time": "2026-12-01T09:00:00+02:00"}, "offset"),
        ({"frequency": "Minute", "interval": 1, "start_time": "9999-12-31T23:59:00"}, "range"),
    ],
)
def test_an_impossible_recurrence_is_refused_with_the_rule_it_breaks(
    recurrence: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        check_recurrence(recurrence)
    with pytest.raises(ValueError, match=says):  # azureml raised ValueError; so do we
        first_due_ms(recurrence, ms("2026-12-06T10:00:00"))
