"""The Prefect settings of the embedded default: which server, where its home and database are,
and what every process that talks to Prefect sets before Prefect is imported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kefu.settings import Settings, get_settings

if TYPE_CHECKING:
    from kefu.escalation.mail import Transport


def _plain_http_ca_file(home: Path) -> str | None:
    """A one-certificate CA file for a Prefect API on plain ``http://``.

    Every Prefect client (``get_client()``, the events and log workers, the version check) builds
    an ``ssl.SSLContext`` from certifi's bundle when it is created, TLS or not: ~31 ms of CPU
    each, ~9 clients per flow-run process, i.e. ~40 % of the runner tree's CPU per resume. An
    ``http://`` API never uses that context, so point it at one certificate (~0.3 ms). With an
    ``https://`` API this is not used and certifi (or your own PREFECT_API_SSL_CERT_FILE) applies."""
    path = home / "plain-http-ca.pem"
    try:
        if not path.exists():
            import certifi

            bundle = Path(certifi.where()).read_text()
            end = "-----END CERTIFICATE-----"
            first = bundle[bundle.index("-----BEGIN CERTIFICATE-----"):bundle.index(end) + len(end)]
            home.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(first + "\n")
            tmp.replace(path)
        return str(path)
    except (OSError, ValueError):
        return None


def prefect_environment(settings: Settings | None = None) -> dict[str, str]:
    """Prefect settings for the embedded default; anything already in the environment wins."""
    settings = settings or get_settings()
    home = (settings.home / "prefect").resolve()
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.api_url,
        # Offline machines: telemetry would do DNS lookups and log errors.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # A running flow run says it is alive every 30 s (Prefect's minimum; 180 by default), so a
        # run whose worker died is found within escalation.yaml run_silent_seconds (watch.py).
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        # A resume reaches the runner within a second instead of ten.
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": os.environ.get(
            "PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{home / 'prefect.db'}"
        ),
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        # A refused write ("database is locked") is logged, not hidden: the log is how ops and
        # the tests count them (kefu.executor.prefect_server).
        "PREFECT_SERVER_LOG_RETRYABLE_ERRORS": "true",
        "PREFECT_UI_API_URL": settings.api_url,
    }
    # A server started with basic auth (`kefu up --host`): every kefu client sends the same string.
    if os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):
        env["PREFECT_API_AUTH_STRING"] = os.environ["PREFECT_SERVER_API_AUTH_STRING"]
    effective_api_url = os.environ.get("PREFECT_API_URL", settings.api_url)  # the environment wins
    if effective_api_url.startswith("http://") and not (
        os.environ.get("PREFECT_API_SSL_CERT_FILE") or os.environ.get("PREFECT_API_TLS_INSECURE_SKIP_VERIFY")
    ):
        ca_file = _plain_http_ca_file(home)
        if ca_file:
            env["PREFECT_API_SSL_CERT_FILE"] = ca_file
    return env


def configure_prefect() -> None:
    """Put the Prefect settings into this process's environment before Prefect is imported."""
    for key, value in prefect_environment().items():
        os.environ.setdefault(key, value)


def secret(block: str) -> str:
    """A secret from its Prefect Secret block (when its KEFU_* variable is not set)."""
    from prefect.blocks.system import Secret

    return Secret.load(block).get()


def smtp_password() -> str:
    """The SMTP password from the Prefect Secret block (when KEFU_SMTP_PASSWORD is not set)."""
    from kefu.escalation.mail import SECRET_BLOCK

    return secret(SECRET_BLOCK)


def mail_transport() -> "Transport":
    """Where the outbox delivers, by each message's way: e-mail by SMTP (its password from the
    environment or the Prefect Secret block) when KEFU_SMTP_URL is set, else files; SMS and chat
    by the gateways KEFU_SMS_URL and KEFU_CHAT_WEBHOOK_URL name (their tokens likewise), else
    files (kefu.escalation.channels)."""
    from kefu import runtime
    from kefu.escalation.channels import channels_from_settings
    from kefu.escalation.mail import transport_from_settings

    def token(block: str) -> str | None:
        try:
            return secret(block)
        except Exception:  # no such block: the gateway is called without a token
            return None

    return channels_from_settings(transport_from_settings(secret=smtp_password), runtime.rules().customer_messages,
                                  get_settings().resolved_outbox_dir, secret=token)
