"""KEFU_* settings (kefu/settings.py): the embedded default needs none; each one changes a URL or
a path, never code."""

from __future__ import annotations

from kefu.settings import Settings


def test_the_dashboard_links_use_the_configured_public_address(monkeypatch):
    """Managers open the links in their e-mails from their own desks: KEFU_DASHBOARD_URL, not the
    server's 127.0.0.1 address, when it is set."""
    monkeypatch.setenv("KEFU_DASHBOARD_URL", "https://kefu.example.com/")
    assert Settings().dashboard_url == "https://kefu.example.com"


def test_without_a_public_address_the_links_point_at_the_prefect_server(monkeypatch):
    monkeypatch.delenv("KEFU_DASHBOARD_URL", raising=False)
    monkeypatch.delenv("KEFU_PREFECT_API_URL", raising=False)
    monkeypatch.setenv("KEFU_PREFECT_PORT", "4321")
    assert Settings().dashboard_url == "http://127.0.0.1:4321"
