"""What a schedule is: its records and the rules of a recurrence, checked the way azureml's
``ScheduleRecurrence.validate`` checks them (plus the checks a server needs: every value
comes from a client).

A recurrence is kept as a plain dict::

    {"frequency": "Day", "interval": 1, "start_time": "2026-12-01T09:00:00" | None,
     "time_zone": "UTC" | "W. Europe Standard Time" | "Europe/Paris" | None,
     "hours": [9, 17] | None, "minutes": [0, 30] | None,
     "week_days": ["Monday"] | None, "time_of_day": "09:30" | None}

``start_time`` is wall-clock time in ``time_zone`` (UTC when none is given), as in azureml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atelier.core.errors import ValidationError

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ACTIVE = "Active"
DISABLED = "Disabled"
STATUSES = (ACTIVE, DISABLED)
#: what a schedule submits: a published pipeline, a pipeline endpoint, or a script run
#: stored with the schedule (its snapshot and run definition), or a data drift detector
#: (whose definition is the schedule's ``target_definition``)
TARGET_KINDS = ("pipeline", "pipeline_endpoint", "script", "datadrift")
#: polling_interval is in minutes, as in azureml; a day at most
POLLING_MAX_MINUTES = 24 * 60
_SCHEDULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})")


class TimeZone(StrEnum):
    """azureml's time zones (Windows names); any IANA name works too (``"Europe/Paris"``)."""

    UTC = "UTC"
    DatelineStandardTime = "Dateline Standard Time"
    HawaiianStandardTime = "Hawaiian Standard Time"
    AlaskanStandardTime = "Alaskan Standard Time"
    PacificStandardTime = "Pacific Standard Time"
    USMountainStandardTime = "US Mountain Standard Time"
    MountainStandardTime = "Mountain Standard Time"
    CentralStandardTime = "Central Standard Time"
    CentralAmericaStandardTime = "Central America Standard Time"
    CanadaCentralStandardTime = "Canada Central Standard Time"
    MexicoStandardTime = "Mexico Standard Time"
    EasternStandardTime = "Eastern Standard Time"
    SAPacificStandardTime = "SA Pacific Standard Time"
    AtlanticStandardTime = "Atlantic Standard Time"
    ESouthAmericaStandardTime = "E. South America Standard Time"
    ArgentinaStandardTime = "Argentina Standard Time"
    NewfoundlandStandardTime = "Newfoundland Standard Time"
    AzoresStandardTime = "Azores Standard Time"
    GMTStandardTime = "GMT Standard Time"
    GreenwichStandardTime = "Greenwich Standard Time"
    WEuropeStandardTime = "W. Europe Standard Time"
    CentralEuropeStandardTime = "Central Europe Standard Time"
    RomanceStandardTime = "Romance Standard Time"
    CentralEuropeanStandardTime = "Central European Standard Time"
    WCentralAfricaStandardTime = "W. Central Africa Standard Time"
    GTBStandardTime = "GTB Standard Time"
    EEuropeStandardTime = "E. Europe Standard Time"
    EgyptStandardTime = "Egypt Standard Time"
    SouthAfricaStandardTime = "South Africa Standard Time"
    FLEStandardTime = "FLE Standard Time"
    IsraelStandardTime = "Israel Standard Time"
    TurkeyStandardTime = "Turkey Standard Time"
    ArabStandardTime = "Arab Standard Time"
    RussianStandardTime = "Russian Standard Time"
    EAfricaStandardTime = "E. Africa Standard Time"
    IranStandardTime = "Iran Standard Time"
    ArabianStandardTime = "Arabian Standard Time"
    AfghanistanStandardTime = "Afghanistan Standard Time"
    PakistanStandardTime = "Pakistan Standard Time"
    IndiaStandardTime = "India Standard Time"
    NepalStandardTime = "Nepal Standard Time"
    BangladeshStandardTime = "Bangladesh Standard Time"
    SEAsiaStandardTime = "SE Asia Standard Time"
    ChinaStandardTime = "China Standard Time"
    SingaporeStandardTime = "Singapore Standard Time"
    WAustraliaStandardTime = "W. Australia Standard Time"
    TaipeiStandardTime = "Taipei Standard Time"
    TokyoStandardTime = "Tokyo Standard Time"
    KoreaStandardTime = "Korea Standard Time"
    CenAustraliaStandardTime = "Cen. Australia Standard Time"
    AUSEasternStandardTime = "AUS Eastern Standard Time"
    EAustraliaStandardTime = "E. Australia Standard Time"
    TasmaniaStandardTime = "Tasmania Standard Time"
    NewZealandStandardTime = "New Zealand Standard Time"
    TongaStandardTime = "Tonga Standard Time"


#: azureml's TimeZone values (Windows names) -> IANA zones for zoneinfo
WINDOWS_ZONES: dict[str, str] = {
    "UTC": "UTC",
    "Dateline Standard Time": "Etc/GMT+12",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Central America Standard Time": "America/Guatemala",
    "Canada Central Standard Time": "America/Regina",
    "Mexico Standard Time": "America/Mexico_City",
    "Eastern Standard Time": "America/New_York",
    "SA Pacific Standard Time": "America/Bogota",
    "Atlantic Standard Time": "America/Halifax",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Newfoundland Standard Time": "America/St_Johns",
    "Azores Standard Time": "Atlantic/Azores",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "GTB Standard Time": "Europe/Bucharest",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Afghanistan Standard Time": "Asia/Kabul",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Kolkata",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "E. Australia Standard Time": "Australia/Brisbane",
    "Tasmania Standard Time": "Australia/Hobart",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Tonga Standard Time": "Pacific/Tongatapu",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRecord:
    """A schedule as stored: what it submits (``target_kind`` + ``target_id``, or the
    ``target_definition`` of a script run), when (``recurrence``) or on what change
    (``datastore_name`` + ``path_on_datastore``), and its next due time."""

    id: str
    workspace_name: str
    name: str
    description: str = ""
    status: str = ACTIVE
    target_kind: str
    target_id: str | None = None
    target_definition: dict[str, Any] = field(default_factory=dict)
    experiment_name: str
    pipeline_parameters: dict[str, Any] = field(default_factory=dict)
    recurrence: dict[str, Any] | None = None
    datastore_name: str | None = None
    path_on_datastore: str | None = None
    polling_interval: int = 5
    data_path_parameter_name: str | None = None
    continue_on_step_failure: bool | None = None
    next_due_ms: int | None = None
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FiringRecord:
    """One claimed slot of a schedule: at most one per (schedule, slot). ``run_id`` is the
    run it started, ``error`` why it started none; both empty while it is being fired."""

    id: str
    schedule_id: str
    workspace_name: str
    slot_ms: int
    reason: str  # "recurrence" | "data"
    fired_ms: int
    run_id: str | None = None
    error: str | None = None
    changed_paths: list[str] = field(default_factory=list)


def check_schedule_name(name: object) -> str:
    if not isinstance(name, str) or not _SCHEDULE_NAME.fullmatch(name):
        raise ValidationError(
            f"invalid schedule name {name!r}: use 1-255 letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return name


def zone_of(time_zone: object) -> ZoneInfo:
    """The zone an azureml ``TimeZone`` value (Windows name) or an IANA name stands for."""
    if time_zone is None:
        return ZoneInfo("UTC")
    name = getattr(time_zone, "value", time_zone)
    if not isinstance(name, str) or not name:
        raise ValidationError(f"time_zone {time_zone!r} is not a time zone name")
    try:
        return ZoneInfo(WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"unknown time_zone {name!r}; use a TimeZone member (e.g. TimeZone.UTC) or an "
            "IANA name such as 'Europe/Paris'"
        ) from exc


def parse_start_time(value: object) -> datetime | None:
    """A naive wall-clock datetime (azureml: a naive datetime or 'YYYY-MM-DDThh:mm:ss')."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValidationError(
                "start_time must have no tzinfo; give the zone with time_zone= instead"
            )
        return _in_range(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(
                f"start_time {value!r} is not a date and time; use 'YYYY-MM-DDThh:mm:ss'"
            ) from exc
        return _in_range(parsed) if parsed.tzinfo is None else _naive_error()
    raise ValidationError(f"start_time must be a datetime or a string, not {type(value).__name__}")


def _in_range(value: datetime) -> datetime:
    if not 1970 <= value.year <= 2999:
        raise ValidationError(
            f"start_time {value.isoformat()} is out of range; use a year 1970-2999"
        )
    return value


def _naive_error() -> datetime:
    raise ValidationError("start_time must have no UTC offset; give the zone with time_zone=")


def _int_list(name: str, values: object, low: int, high: int) -> list[int] | None:
    if values is None:
        return None
    if isinstance(values, int) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        raise ValidationError(f"{name} must be a non-empty list of integers {low}-{high}")
    checked = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"{name} must hold integers {low}-{high}; got {value!r}")
        checked.append(value)
    return sorted(set(checked))


def _week_days(values: object) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        raise ValidationError(f"week_days must be a non-empty list of {', '.join(WEEK_DAYS)}")
    for day in values:
        if day not in WEEK_DAYS:
            raise ValidationError(f"week_days holds {day!r}; use {', '.join(WEEK_DAYS)}")
    return [day for day in WEEK_DAYS if day in values]


def _time_of_day(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    match = _TIME_OF_DAY.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(f"time_of_day {value!r} is not a time; use 'hh:mm', e.g. '17:30'")
    return int(match[1]), int(match[2])


def check_recurrence(data: Mapping[str, Any]) -> dict[str, Any]:
    """The recurrence, normalized (sorted hours and minutes, ISO start time, the time
    zone's name); ``ValidationError`` saying which rule an impossible one breaks."""
    frequency = data.get("frequency")
    if frequency not in FREQUENCIES:
        raise ValidationError(f"frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}")
    interval = data.get("interval")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValidationError(f"interval must be an integer of at least 1; got {interval!r}")
    if interval > 1000:
        raise ValidationError(f"interval {interval} is too large; use at most 1000")
    hours = _int_list("hours", data.get("hours"), 0, 23)
    minutes = _int_list("minutes", data.get("minutes"), 0, 59)
    week_days = _week_days(data.get("week_days"))
    time_of_day = _time_of_day(data.get("time_of_day"))
    if (hours or minutes or time_of_day) and frequency not in ("Day", "Week"):
        raise ValidationError(
            "hours, minutes and time_of_day apply only when frequency is 'Day' or 'Week'"
        )
    if week_days and frequency != "Week":
        raise ValidationError("week_days apply only when frequency is 'Week'")
    if time_of_day and (hours or minutes):
        raise ValidationError("give either time_of_day or hours and minutes, not both")
    time_zone = data.get("time_zone")
    zone_of(time_zone)
    start = parse_start_time(data.get("start_time"))
    return {
        "frequency": frequency,
        "interval": interval,
        "start_time": start.isoformat() if start else None,
        "time_zone": getattr(time_zone, "value", time_zone),
        "hours": hours,
        "minutes": minutes,
        "week_days": week_days,
        "time_of_day": f"{time_of_day[0]:02d}:{time_of_day[1]:02d}" if time_of_day else None,
    }


def check_polling_interval(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"polling_interval must be a whole number of minutes ≥ 1; got {value!r}"
        )
    if value > POLLING_MAX_MINUTES:
        raise ValidationError(
            f"polling_interval {value} is over a day; use at most {POLLING_MAX_MINUTES}"
        )
    return value
