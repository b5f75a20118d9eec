"""The save rules shared by the site and the API, with the probe patched at its one point."""

from unittest import mock

import pytest
from django.db import IntegrityError

from phonon.lib.outbound import REACHABLE, Probe, status_warning
from webhooks import reachability
from webhooks.models import Webhook
from webhooks.tests.factories import make_webhook
from webhooks.validation import WebhookRejected, clean_webhook, save_webhook

URL = "https://93.184.215.14/hook"


@pytest.fixture
def probe():
    with mock.patch.object(reachability, "probe_url", autospec=True, return_value=answered(200)) as patched:
        yield patched


def answered(status_code: int) -> Probe:
    """What probe_url returns for an HTTP answer: reachable, with a warning for 4xx/5xx."""
    return Probe(True, REACHABLE, status_code, status_warning(status_code))


def test_a_new_url_is_probed_without_http_support(acme, probe):
    clean_webhook(acme, {"name": "A", "url": URL})
    probe.assert_called_once_with(
        URL, allow_http=False, allowed_networks=(), timeout=reachability.PROBE_TIMEOUT_SECONDS
    )


def test_a_failed_probe_refuses_the_save_with_its_reason(acme, probe):
    probe.return_value = Probe(False, "The connection to 93.184.215.14 was refused.")
    with pytest.raises(WebhookRejected) as rejected:
        clean_webhook(acme, {"name": "A", "url": URL})
    assert "(The connection to 93.184.215.14 was refused). " in rejected.value.errors["url"][0]


def test_a_server_error_refuses_the_save_naming_the_answer(acme, probe):
    probe.return_value = answered(503)
    with pytest.raises(WebhookRejected) as rejected:
        clean_webhook(acme, {"name": "A", "url": URL})
    assert "The URL answered 503 Service Unavailable, a server error" in rejected.value.errors["url"][0]


@pytest.mark.parametrize("status_code", [200, 301, 400, 401, 404, 405])
def test_any_answer_below_500_is_reachable_enough_to_save(acme, probe, status_code):
    """The probe is a HEAD without body or credentials: a healthy receiver may refuse it with a 4xx."""
    probe.return_value = answered(status_code)
    assert clean_webhook(acme, {"name": "A", "url": URL})["url"] == URL


def test_an_unchanged_url_is_not_probed_again(acme, probe):
    webhook = make_webhook(acme, url=URL)
    clean_webhook(acme, {"name": "Renamed"}, instance=webhook)
    probe.assert_not_called()


def test_with_http_support_the_probe_is_not_required(acme, probe):
    acme.http_support_enabled = True
    clean_webhook(acme, {"name": "A", "url": "http://93.184.215.14/"})
    probe.assert_not_called()


def test_an_unchanged_url_still_passes_the_policy(acme, probe, fake_dns):
    fake_dns["moved.test"] = ["93.184.215.14"]
    webhook = make_webhook(acme, url="https://moved.test/")
    fake_dns["moved.test"] = ["10.0.0.7"]  # the host now points inside the network
    with pytest.raises(WebhookRejected) as rejected:
        clean_webhook(acme, {}, instance=webhook)
    assert "10.0.0.7" in rejected.value.errors["url"][0]


def test_names_are_unique_per_account(acme, globex, probe):
    make_webhook(acme, name="Orders")
    with pytest.raises(WebhookRejected) as rejected:
        clean_webhook(acme, {"name": "orders", "url": URL})
    assert "already has a webhook called 'orders'" in rejected.value.errors["name"][0]
    clean_webhook(globex, {"name": "Orders", "url": URL})


def test_switching_auth_off_forgets_the_credentials(acme, probe):
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="p")
    save_webhook(acme, clean_webhook(acme, {"auth_type": "none"}, instance=webhook), instance=webhook)
    webhook.refresh_from_db()
    assert (webhook.username, webhook.password) == ("", "")


def test_saving_a_new_default_moves_the_mark(acme, globex, probe):
    old = make_webhook(acme, is_default=True)
    other_account = make_webhook(globex, is_default=True)
    new = save_webhook(acme, clean_webhook(acme, {"name": "New", "url": URL, "is_default": True}))
    assert set(Webhook.objects.filter(is_default=True)) == {new, other_account}
    old.refresh_from_db()
    assert not old.is_default


def test_the_database_refuses_two_defaults(acme):
    make_webhook(acme, is_default=True)
    with pytest.raises(IntegrityError):
        make_webhook(acme, is_default=True)


def test_an_at_sign_in_the_query_is_not_a_user_name(acme, probe, fake_dns):
    """The webhook widget accepts this URL too (flows/tests/test_validation.py): one rule for both."""
    fake_dns["api.example.com"] = ["93.184.215.14"]
    url = "https://api.example.com?email=a@b.example"

    assert clean_webhook(acme, {"name": "A", "url": url})["url"] == url


def test_a_user_name_in_the_authority_is_refused(acme, probe, fake_dns):
    fake_dns["api.example.com"] = ["93.184.215.14"]
    with pytest.raises(WebhookRejected) as rejected:
        clean_webhook(acme, {"name": "A", "url": "https://user:secret@api.example.com/?email=a@b.example"})
    assert rejected.value.errors["url"] == [
        "URL: the URL must not contain a user name or password; use basic authentication instead."
    ]
    probe.assert_not_called()


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Username: basic authentication needs a username."),
        ("a:b", "Username: basic authentication does not allow ':' in the username."),
        ("x" * 201, "Username: the username is longer than 200 characters."),
    ],
)
def test_basic_auth_needs_a_short_username_without_a_colon(acme, probe, username, message):
    with pytest.raises(WebhookRejected) as rejected:
        clean_webhook(acme, {"name": "A", "url": URL, "auth_type": "basic", "username": username})
    assert rejected.value.errors["username"] == [message]
