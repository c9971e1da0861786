"""Runtime settings, read from ``KEFU_*`` environment variables.

The embedded default needs none of them: kefu keeps its SQLite file, its Prefect
server's database and its outbox under ``./var/``. Scale-out changes URLs, not code.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    home: Path = Path("var")
    database_url: str | None = None
    config_dir: Path = REPO_ROOT / "config"
    # Freezes the business clock (tests, simulations, the demo); ISO-8601 with an offset.
    now: datetime | None = None
    smtp_url: str | None = None
    # Never from a file in the repo, never logged; a Prefect Secret block `kefu-smtp-password` also works.
    smtp_password: SecretStr | None = None
    mail_from: str = "kefu@localhost"
    mail_from_name: str = "kefu 客服"
    outbox_dir: Path | None = None
    # Where the reports' files (XLSX, Markdown, the chart) are written; their figures are on the record.
    reports_dir: Path | None = None
    # Customer SMS through the department's gateway, chat messages through its webhook (kefu.escalation.channels);
    # the tokens never from a file in the repo: here or the Prefect Secret blocks kefu-sms-token / kefu-chat-token.
    sms_url: str | None = None
    sms_token: SecretStr | None = None
    chat_webhook_url: str | None = None
    chat_token: SecretStr | None = None
    prefect_port: int = 4200
    # Where ops open the dashboard and where the CLI reaches Prefect; PREFECT_API_URL wins if set.
    prefect_api_url: str | None = None
    # The dashboard as people reach it (behind a proxy, by a host name): the links in e-mails and
    # messages. Default: the Prefect server's own address.
    dashboard_url: str | None = None

    @field_validator("now")
    @classmethod
    def _now_needs_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-23T09:00:00+08:00")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'kefu.db').resolve()}"

    @property
    def resolved_outbox_dir(self) -> Path:
        return self.outbox_dir or self.home / "outbox"

    @property
    def resolved_reports_dir(self) -> Path:
        return self.reports_dir or self.home / "reports"

    @property
    def api_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    @model_validator(mode="after")
    def _dashboard_defaults_to_the_server(self) -> "Settings":
        self.dashboard_url = (self.dashboard_url or self.api_url.removesuffix("/api")).rstrip("/")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
