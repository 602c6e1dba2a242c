"""All configuration, read once from NABIJ_* environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import PROJECT_ROOT

MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot work; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NABIJ_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = ""
    modules_dir: Path = PROJECT_ROOT / "modules"
    var_dir: Path = PROJECT_ROOT / "var"
    secret_key: SecretStr | None = None
    # Reflections, revisions and feedback are stored encrypted (app/crypto.py) under a key derived from
    # this, or from secret_key when it is unset; previous: comma-separated keys still readable during
    # `nabij rotate-data-key` (docs/deploy.md).
    data_key: SecretStr | None = None
    data_key_previous: SecretStr | None = None
    base_url: str = "http://127.0.0.1:8000"

    # Database pool; the worker thread pool is sized from it (see app.main).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)

    # Sessions (ASVS 7.3.1 and 7.3.2).
    session_idle_minutes: int = Field(default=120, ge=5)
    session_max_hours: int = Field(default=12, ge=1)

    # Throttling of failed logins, join codes and reset requests (app/services/throttle.py): this many
    # per account or device, and throttle_address_attempts per address (a lecture hall shares one),
    # before each further attempt waits longer; a failure counts for the window.
    throttle_max_attempts: int = Field(default=5, ge=1)
    throttle_window_minutes: int = Field(default=15, ge=1)
    throttle_address_attempts: int = Field(default=100, ge=1)
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (app/proxies.py).
    trusted_proxies: str = "127.0.0.1,::1"

    password_reset_minutes: int = Field(default=60, ge=5)

    # Retention (app/services/retention.py, docs/privacy.md): answers of a class archived this many months
    # ago are purged by the nightly job; its lecturers are warned a month ahead.
    retention_months_after_archive: int = Field(default=12, ge=1, le=120)

    # Mail: SMTP when a host is set, otherwise files in var/outbox/.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    smtp_from: str = "Nabij <no-reply@localhost>"
    smtp_starttls: bool = True

    # Log lines on standard error: "auto" is readable lines in development, JSON in production.
    log_format: Literal["auto", "json", "console"] = "auto"

    # Institution sign-in with OpenID Connect (app/services/oidc.py, docs/sso.md). Off while the issuer
    # or the client id is empty.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    oidc_name: str = "SURFconext"
    oidc_scopes: str = "openid profile email"
    oidc_role_claim: str = "eduperson_affiliation"
    oidc_student_values: str = "student"
    oidc_staff_values: str = "employee,faculty,staff"
    oidc_id_claim: str = "sub"
    # False hides the password form for everyone but admins (who use /login?admin=1).
    password_login: bool = True

    metrics_token: SecretStr | None = None
    default_locale: Literal["nl", "en"] = "nl"

    @field_validator("modules_dir", "var_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def effective_log_format(self) -> str:
        if self.log_format != "auto":
            return self.log_format
        return "json" if self.is_production else "console"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'nabij.sqlite3'}"

    def secret(self) -> bytes:
        """The application secret; in development it is generated once and kept under var/."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"NABIJ_SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random "
                    "characters, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
            return value.encode()
        if self.is_production:
            raise ConfigError(
                "NABIJ_SECRET_KEY is not set: production needs a random secret of at least "
                f"{MIN_SECRET_LENGTH} characters (it keys sessions and pseudonyms)."
            )
        return _development_secret(self.var_dir)


def _development_secret(var_dir: Path) -> bytes:
    path = var_dir / "secret_key"
    if not path.exists():
        from app.storage import private_dir, private_file

        private_dir(var_dir)
        private_file(path).write_text(secrets.token_urlsafe(48))  # created 0600: never readable by others
    return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    return Settings()
