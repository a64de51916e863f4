"""``mini_batch_size`` as azureml reads it: a count of files, or an amount of rows' data."""

from __future__ import annotations

import re

from atelier.core.errors import ValidationError

#: azureml's defaults: 10 files of a FileDataset, 1 MB of a TabularDataset's rows
DEFAULT_FILES = 10
DEFAULT_BYTES = 1024 * 1024
_UNITS = {"": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_SIZE = re.compile(r"^\s*(\d+)\s*(KB|MB|GB)?\s*$", re.IGNORECASE)


def check_mini_batch_size(value: object) -> str | None:
    """``None``, or the value as text after checking its form (``10``, ``"10"``, ``"1MB"``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(
            f"mini_batch_size must be a number of files (10 or '10') or an amount of data "
            f"('1MB', '512KB', '1GB'), not {value!r}"
        )
    text = str(value).strip()
    match = _SIZE.match(text)
    if match is None or int(match.group(1)) < 1:
        raise ValidationError(
            f"mini_batch_size {value!r} is neither a whole number >= 1 (files of a FileDataset) "
            "nor an amount such as '1MB', '512KB' or '1GB' (rows of a TabularDataset)"
        )
    return text


def files_per_batch(value: str | None) -> int:
    """Files per mini-batch of a FileDataset; an amount with a unit is refused."""
    if value is None:
        return DEFAULT_FILES
    match = _SIZE.match(value)
    if match is None or match.group(2):
        raise ValidationError(
            f"mini_batch_size {value!r} is an amount of data, which only a TabularDataset input "
            "takes; give a FileDataset a number of files, e.g. mini_batch_size='10'"
        )
    return int(match.group(1))


def bytes_per_batch(value: str | None) -> int:
    """Bytes of rows per mini-batch of a TabularDataset (a bare number is bytes)."""
    if value is None:
        return DEFAULT_BYTES
    match = _SIZE.match(value)
    if match is None:  # pragma: no cover - checked by check_mini_batch_size
        raise ValidationError(f"mini_batch_size {value!r} is not an amount of data")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").upper()]
