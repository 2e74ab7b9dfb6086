"""Running as a service: the database, shutdown, logging, and the health server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from bot.config.values import Section, redact_url

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class ServiceSettings(Section):
    """DATABASE_URL (sqlite:///file or postgresql://...), SHUTDOWN_GRACE_SECONDS,
    LOG_LEVEL/LOG_FORMAT, HEALTH_PORT/HEALTH_LISTEN."""

    database_url: str = "sqlite:///data/bot.db"
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = (
        "INFO"
    )
    log_format: Annotated[Literal["json", "console"], BeforeValidator(_lower)] = "json"
    health_port: int = Field(default=8080, ge=0, le=65535)  # 0 turns the server off
    health_listen: str = "127.0.0.1"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value.startswith(POSTGRES_SCHEMES) and len(value.partition("://")[2]) > 0:
            return value
        if not value.startswith("sqlite:///") or len(value) <= len("sqlite:///"):
            raise ValueError(
                "must look like sqlite:///path/to/file.db or postgresql://user@host/database"
            )
        return value

    @property
    def on_postgres(self) -> bool:
        """DATABASE_URL names a PostgreSQL database (several replicas may share it)."""
        return self.database_url.startswith(POSTGRES_SCHEMES)

    @property
    def database_path(self) -> Path:
        """The SQLite file named by DATABASE_URL (relative paths are relative to the cwd);
        with PostgreSQL, where the SQLite file would be by default (not used for data)."""
        if self.on_postgres:
            return Path("data/bot.db")
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def data_dir(self) -> Path:
        """The folder for local files (the terminal's log and history): the SQLite file's."""
        return self.database_path.parent

    @property
    def database_shown(self) -> str:
        """DATABASE_URL as it may be printed: the file, or the URL without its password."""
        if self.on_postgres:
            return redact_url(self.database_url)
        return str(self.database_path)
