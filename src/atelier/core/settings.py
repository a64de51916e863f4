"""Process settings read from ``ATELIER_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".atelier"


class Settings(BaseSettings):
    """Where metadata and blobs live.

    ``home`` holds the embedded SQLite database and blob folder; ``database_url`` and
    ``blob_url`` override either (PostgreSQL, any fsspec URL).
    """

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    blob_url: str | None = None
    #: the key that encrypts workspace secrets (urlsafe base64 of 32 bytes); when unset,
    #: a key file ``<home>/secret.key`` (mode 0600) is generated and used
    secret_key: SecretStr | None = None

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
