"""Process settings read from ``ATELIER_*`` environment variables.

Plain Python on purpose: every process of the product imports this module (each CLI call,
each submitted script, each supervisor, agent, endpoint router and replica), and building
it on pydantic-settings cost about 0.35 s of CPU per process start, more than half of
``import atelier``. A keyword given to the constructor wins over the environment; names
are matched without regard to case, as before; unknown keywords are ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

ENV_PREFIX = "ATELIER_"


class Secret:
    """A secret string that does not show itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _default_home() -> Path:
    return Path.home() / ".atelier"


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _secret(value: Any) -> Any:
    if value is None or hasattr(value, "get_secret_value"):
        return value
    return Secret(str(value))


def json_list(value: Any) -> list[str]:
    """A list of strings; from the environment, a JSON list (``'["a", "b"]'``)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f'expected a JSON list of strings such as ["a", "b"]: {exc}') from exc
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError(f'expected a JSON list of strings such as ["a", "b"], got {value!r}')
    return list(value)


class Field:
    """One setting: how a value (from a keyword or the environment) becomes its type, and
    its default when neither gives one."""

    __slots__ = ("convert", "default")

    def __init__(self, convert: Callable[[Any], Any], default: Callable[[], Any]) -> None:
        self.convert = convert
        self.default = default


class Settings:
    """Where metadata and blobs live.

    ``home`` holds the embedded SQLite database and blob folder; ``database_url`` and
    ``blob_url`` override either (PostgreSQL, any fsspec URL).
    """

    FIELDS: ClassVar[dict[str, Field]] = {
        "home": Field(Path, _default_home),
        "database_url": Field(_optional_str, lambda: None),
        "blob_url": Field(_optional_str, lambda: None),
        #: the key that encrypts workspace secrets (urlsafe base64 of 32 bytes); when unset,
        #: a key file ``<home>/secret.key`` (mode 0600) is generated and used
        "secret_key": Field(_secret, lambda: None),
    }

    home: Path
    database_url: str | None
    blob_url: str | None
    secret_key: Secret | None

    def __init__(self, **values: Any) -> None:
        environment: dict[str, str] | None = None
        for name, field in self.FIELDS.items():
            if name in values:
                raw = values[name]
            else:
                if environment is None:
                    environment = {key.upper(): value for key, value in os.environ.items()}
                variable = ENV_PREFIX + name.upper()
                if variable not in environment:
                    setattr(self, name, field.default())
                    continue
                raw = environment[variable]
            try:
                value = None if raw is None else field.convert(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"setting {ENV_PREFIX}{name.upper()}: {exc}") from exc
            setattr(self, name, value)

    def model_dump(self) -> dict[str, Any]:
        """Every setting by name."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def model_copy(self, update: dict[str, Any] | None = None) -> Settings:
        """A copy with ``update`` applied (the environment is not read again)."""
        copy = object.__new__(type(self))
        for name, value in {**self.model_dump(), **(update or {})}.items():
            setattr(copy, name, value)
        return copy

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Settings)
            and type(other) is type(self)
            and (self.model_dump() == other.model_dump())
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.model_dump().items())
        return f"{type(self).__name__}({fields})"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'atelier.db').expanduser().resolve()}"

    @property
    def resolved_blob_url(self) -> str:
        if self.blob_url:
            return self.blob_url
        return str((self.home / "blobs").expanduser().resolve())


def load_settings(home: str | Path | None = None) -> Settings:
    """Settings from the environment, with ``home`` (when given) taking precedence."""
    settings = Settings()
    if home is not None:
        settings = settings.model_copy(update={"home": Path(home)})
    return settings
