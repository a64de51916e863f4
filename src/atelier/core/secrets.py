"""What a secret is: its record (never its value) and the rules for names and values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from atelier.core.errors import ValidationError

_SECRET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,126}")
SECRET_NAME_RULE = "1-127 characters: letters, digits, '-' and '_', starting with a letter"
#: the largest value stored, in UTF-8 bytes (Azure Key Vault allows 25 KiB)
SECRET_VALUE_MAX = 64 * 1024


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """A secret as listings show it: its name and times, never its value."""

    name: str
    created_ms: int
    updated_ms: int


def check_secret_name(name: object) -> str:
    if not isinstance(name, str) or not _SECRET_NAME.fullmatch(name):
        raise ValidationError(f"invalid secret name {name!r}: use {SECRET_NAME_RULE}")
    return name


def check_secret_value(name: str, value: object) -> bytes:
    """The value as UTF-8 bytes; only strings up to ``SECRET_VALUE_MAX`` bytes are kept."""
    if not isinstance(value, str):
        raise ValidationError(
            f"secret {name!r} must be a string, not {type(value).__name__}; "
            "encode other values (e.g. json.dumps) before storing them"
        )
    data = value.encode("utf-8")
    if len(data) > SECRET_VALUE_MAX:
        raise ValidationError(
            f"secret {name!r} is {len(data)} bytes; the limit is {SECRET_VALUE_MAX} bytes "
            "(store large credentials as files in a datastore and keep only their key here)"
        )
    return data
