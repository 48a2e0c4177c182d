"""Settings read from the environment (12-factor): one place, typed, validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "servicemap.sqlite3"
APP_ENVS = ("development", "production", "test")


class ConfigError(ValueError):
    """The environment describes a configuration the service must not start with."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    app_env: str = "development"
    port: int = 8000
    firebase_project_id: str | None = None
    firebase_auth_emulator_host: str | None = None
    google_application_credentials: str | None = None
    push_provider: str = "log"
    fcm_endpoint: str | None = None

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port_text = get("PORT") or "8000"
        try:
            port = int(port_text)
        except ValueError as exc:
            raise ConfigError(f"PORT must be an integer, got {port_text!r}") from exc
        settings = cls(
            database_url=get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}",
            app_env=get("APP_ENV") or "development",
            port=port,
            firebase_project_id=get("FIREBASE_PROJECT_ID"),
            firebase_auth_emulator_host=get("FIREBASE_AUTH_EMULATOR_HOST"),
            google_application_credentials=get("GOOGLE_APPLICATION_CREDENTIALS"),
            push_provider=get("PUSH_PROVIDER") or "log",
            fcm_endpoint=get("FCM_ENDPOINT"),
        )
        settings.validate(explicit_database_url=get("DATABASE_URL") is not None)
        return settings

    def validate(self, explicit_database_url: bool = True) -> None:
        if self.app_env not in APP_ENVS:
            allowed = ", ".join(APP_ENVS)
            raise ConfigError(f"APP_ENV must be one of {allowed}, got {self.app_env!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT out of range: {self.port}")
        if self.push_provider not in ("log", "fcm"):
            raise ConfigError(f"PUSH_PROVIDER must be 'log' or 'fcm', got {self.push_provider!r}")
        if not self.database_url.startswith(("sqlite://", "postgresql")):
            raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        if self.is_production:
            # Development conveniences must never reach production by accident.
            if self.firebase_auth_emulator_host:
                raise ConfigError(
                    "FIREBASE_AUTH_EMULATOR_HOST is set: refusing to start in production"
                )
            if not explicit_database_url:
                raise ConfigError("DATABASE_URL must be set explicitly in production")
