"""Settings read from the environment: production defaults are the safe ones."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NAMES = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT")


def settings_under(names: tuple[str, ...] = NAMES, **environment: str) -> dict:
    """The settings module as a fresh process reads it with only these variables set."""
    env = {key: value for key, value in os.environ.items() if key not in names and key != "DEBUG"}
    env.update(environment)
    script = (
        "import json, phonon.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}} | "
        "{'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None)}))"
    )
    root = Path(__file__).resolve().parents[2]
    output = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, check=True)
    return json.loads(output.stdout)


def test_production_cookies_are_https_only_with_hsts():
    values = settings_under(DEBUG="false")
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600


def test_make_run_over_plain_http_keeps_its_cookies():
    values = settings_under(DEBUG="true")
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0 and values["SECURE_SSL_REDIRECT"] is False


@pytest.mark.parametrize("debug", ["true", "false"])
def test_each_https_setting_can_be_set_from_the_environment(debug):
    values = settings_under(
        DEBUG=debug,
        SESSION_COOKIE_SECURE="true" if debug == "true" else "false",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="60",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
    )
    assert values["SESSION_COOKIE_SECURE"] is (debug == "true")
    assert values["SECURE_SSL_REDIRECT"] is True and values["SECURE_HSTS_SECONDS"] == 60
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_pages_refuse_to_be_framed(client, db):
    assert client.get("/login/")["X-Frame-Options"] == "DENY"


EMAIL = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS")


def test_mail_prints_to_the_console_unless_email_url_says_otherwise():
    assert settings_under(EMAIL)["EMAIL_BACKEND"].endswith("console.EmailBackend")  # make run
    smtp = settings_under(EMAIL, EMAIL_URL="smtp+tls://user:pw@smtp.example.com:587")
    assert smtp["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == ("smtp.example.com", 587, True)
