"""The naming rules, each stated in the error it raises."""

from __future__ import annotations

import math
import re
from numbers import Real
from pathlib import PurePosixPath

from atelier.core.errors import ValidationError

_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,62}")
_EXPERIMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
_METRIC = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-. /:]{0,249}")
_KEY_MAX = 255
_VALUE_MAX = 5000

WORKSPACE_RULE = "2-63 characters: letters, digits, '-' and '_', starting with a letter or digit"
EXPERIMENT_RULE = "1-255 characters: letters, digits, '-' and '_', starting with a letter or digit"
METRIC_RULE = (
    "1-250 characters: letters, digits, '_', '-', '.', '/', ':' and spaces, "
    "not starting with '/', '.', '-' or a space"
)


def check_workspace_name(name: object) -> str:
    if not isinstance(name, str) or not _WORKSPACE.fullmatch(name):
        raise ValidationError(f"invalid workspace name {name!r}: use {WORKSPACE_RULE}")
    return name


def check_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not _EXPERIMENT.fullmatch(name):
        raise ValidationError(f"invalid experiment name {name!r}: use {EXPERIMENT_RULE}")
    return name


#: the tag that keeps an MLflow experiment name Atelier's rule had to change
MLFLOW_NAME_TAG = "mlflow.experimentName"
_MLFLOW_NAME_MAX = 500


def experiment_name_from_mlflow(name: object) -> str:
    """An MLflow experiment name as an Atelier one: itself when valid, else its letters,
    digits, '-' and '_' (other runs of characters as '-') and 8 hex characters of its hash,
    so ``"team a/churn"`` becomes ``"team-a-churn-<hash>"`` and never meets another name."""
    if not isinstance(name, str) or not name.strip() or len(name) > _MLFLOW_NAME_MAX:
        raise ValidationError(
            f"invalid experiment name {name!r}: use 1-{_MLFLOW_NAME_MAX} characters"
        )
    if _EXPERIMENT.fullmatch(name):
        return name
    import hashlib

    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:240] or "mlflow"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def check_metric_name(name: object) -> str:
    if not isinstance(name, str) or not _METRIC.fullmatch(name) or ".." in name:
        raise ValidationError(f"invalid metric name {name!r}: use {METRIC_RULE}")
    return name


def check_key(kind: str, key: object) -> str:
    """A tag or property key: a non-empty string of at most 255 characters."""
    if not isinstance(key, str) or not key or len(key) > _KEY_MAX or key != key.strip():
        raise ValidationError(
            f"invalid {kind} key {key!r}: use a non-empty string of at most {_KEY_MAX} "
            "characters without leading or trailing spaces"
        )
    return key


def check_text_value(kind: str, key: str, value: object) -> str:
    """Tag and property values are stored as text; None becomes the empty string."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{kind} {key!r} has a non-finite value {value!r}")
        text = str(value)
        if len(text) > _VALUE_MAX:
            raise ValidationError(
                f"{kind} {key!r} is {len(text)} characters long; the limit is {_VALUE_MAX}"
            )
        return text
    raise ValidationError(
        f"{kind} {key!r} must be a string, number or bool, not {type(value).__name__}"
    )


def check_number(name: str, value: object) -> float:
    """A metric value: a real number, NaN and infinities included as MLflow takes them (a
    diverged loss is logged, not a crash); bool is refused as ambiguous."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValidationError(
            f"metric {name!r} must be a number, not {type(value).__name__} {value!r}; "
            "log text with run.tag() or run.log_list()"
        )
    return float(value)


#: a whole path (as object stores allow) and one of its names (as file systems allow)
PATH_MAX = 1024
PART_MAX = 255


def check_relative_path(path: object, *, what: str = "file name") -> str:
    """A path inside a root: relative, no '..', no empty parts, at most ``PATH_MAX``
    characters and ``PART_MAX`` bytes per name; returned in POSIX form."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationError(f"{what} must be a non-empty relative path, got {path!r}")
    text = path.replace("\\", "/")
    pure = PurePosixPath(text)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", text):
        raise ValidationError(f"{what} {path!r} is absolute; give a path relative to the run")
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise ValidationError(f"{what} {path!r} escapes its root; remove '..' from it")
    if any("\x00" in p for p in parts):
        raise ValidationError(f"{what} {path!r} contains a NUL character")
    clean = "/".join(parts)
    if len(clean) > PATH_MAX or any(len(p.encode()) > PART_MAX for p in parts):
        raise ValidationError(
            f"{what} {_shortened(path)} is too long: at most {PATH_MAX} characters in all "
            f"and {PART_MAX} bytes (UTF-8) between slashes; shorten it"
        )
    return clean


def _shortened(text: str) -> str:
    return repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
RUN_ID_RULE = "1-255 characters: letters, digits, '.', '-' and '_', starting with a letter or digit"


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise ValidationError(f"invalid run id {run_id!r}: use {RUN_ID_RULE}")
    return run_id


_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
MODEL_RULE = "1-255 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not _MODEL.fullmatch(name):
        raise ValidationError(f"invalid model name {name!r}: use {MODEL_RULE}")
    return name


#: versions are stored as 32-bit integers (PostgreSQL ``integer``)
VERSION_MAX = 2**31 - 1


def check_version(kind: str, version: object) -> int:
    """A registered version: a whole number from 1 to 2^31-1 (``"2"`` is accepted for
    azureml's strings)."""
    text = str(version)
    rule = f"{kind} version must be a whole number from 1 to {VERSION_MAX}, not {version!r}"
    if isinstance(version, bool) or not isinstance(version, int | str) or not text.isdigit():
        raise ValidationError(rule)
    if len(text) > 10 or not 1 <= int(text) <= VERSION_MAX:
        raise ValidationError(rule)
    return int(text)
