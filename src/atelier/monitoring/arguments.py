"""The checks a detector's arguments pass (``create_from_datasets``, ``update`` and
``run``): each returns the value as stored, or raises ``ValidationError`` saying what is
accepted."""

from __future__ import annotations

from atelier.core.errors import ValidationError

DEFAULT_THRESHOLD = 0.2


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > 200:
        raise ValidationError(f"a detector name must be 1-200 characters, not {name!r}")
    if not all(c.isalnum() or c in "-_" for c in name) or not name[0].isalnum():
        raise ValidationError(
            f"invalid detector name {name!r}: use letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


def threshold(value: object) -> float:
    if value is None:
        return DEFAULT_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(f"drift_threshold must be between 0 and 1, not {value!r}")
    return float(value)


def latency(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"latency must be a whole number of hours >= 0, not {value!r}")
    return value


def features(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
        raise ValidationError("feature_list must be a non-empty list of column names")
    if not all(isinstance(item, str) and item for item in value):
        raise ValidationError("feature_list must hold column names")
    return list(value)


def compute_name(value: object) -> str | None:
    if value is None:
        return None
    name = getattr(value, "name", value)
    if not isinstance(name, str):
        raise ValidationError(f"compute_target must be a name or a ComputeTarget, not {value!r}")
    return name


def optional_threshold(value: object) -> float | None:
    return None if value is None else threshold(value)
