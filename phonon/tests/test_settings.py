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


ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = ROOT / "deploy" / "phonon.env"


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a fresh process with only these settings (and the test's PATH)."""
    env = {"PATH": os.environ["PATH"], **environment}
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_secret_key_or_allowed_hosts(missing):
    given = {"DEBUG": "false", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "phonon.example.com"}
    del given[missing]

    result = manage("check", **given)

    assert result.returncode == 1
    assert result.stderr.startswith(f"Configuration error: {missing} is not set: with DEBUG off (production)")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("API_RATE", "lots"), ("LOG_FORMAT", "xml"), ("METRICS_ALLOWED_NETWORKS", "10.0.0.300/8")]
)
def test_a_bad_production_setting_is_named(name, value):
    result = manage("check", DEBUG="true", **{name: value})

    assert result.returncode == 1
    assert f"Configuration error: {name}" in result.stderr


def production_environment() -> dict[str, str]:
    lines = PRODUCTION_ENV.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_the_readmes_production_environment_is_deploy_phonon_env():
    assert PRODUCTION_ENV.read_text() in (ROOT / "README.md").read_text()


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    environment = {**production_environment(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    result = manage("check", "--deploy", "--fail-level", "WARNING", **environment)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


EMAIL = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS")


def test_mail_prints_to_the_console_unless_email_url_says_otherwise():
    assert settings_under(EMAIL)["EMAIL_BACKEND"].endswith("console.EmailBackend")  # make run
    smtp = settings_under(EMAIL, EMAIL_URL="smtp+tls://user:pw@smtp.example.com:587")
    assert smtp["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == ("smtp.example.com", 587, True)
