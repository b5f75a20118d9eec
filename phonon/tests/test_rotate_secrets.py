"""`manage.py rotate_secrets`: every encrypted value ends up readable with the newest key alone."""

import copy
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from flows.revisions import revision_diff, save_revision
from flows.serializers import flow_wire_format
from flows.tests.factories import end, make_flow, webhook
from phonon.encryption import decrypt_secret, encrypt_secret
from webhooks.models import Webhook
from webhooks.tests.factories import make_webhook

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def raw_columns(webhook: Webhook) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, signing_secret FROM webhooks_webhook WHERE id = %s", [webhook.pk])
        return cursor.fetchone()


def test_it_re_encrypts_every_secret_with_the_newest_key(settings, acme):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="p4ss")
    no_password = make_webhook(acme)
    secret = webhook.signing_secret
    before = raw_columns(webhook)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "webhooks_webhook.password: 1 value(s) re-encrypted" in out.getvalue()
    assert "webhooks_webhook.signing_secret: 2 value(s) re-encrypted" in out.getvalue()
    after = raw_columns(webhook)
    assert after[0] != before[0] and "p4ss" not in after[0]

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key is gone
    webhook.refresh_from_db()
    assert (webhook.password, webhook.signing_secret) == ("p4ss", secret)
    assert raw_columns(no_password)[0] == ""
    Fernet(NEW_KEY.encode()).decrypt(after[0].encode())


def test_running_it_twice_is_harmless(settings, acme):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="p4ss")
    call_command("rotate_secrets", stdout=StringIO())
    call_command("rotate_secrets", stdout=StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    webhook.refresh_from_db()
    assert webhook.password == "p4ss"


def test_it_stops_on_a_value_no_key_can_read(settings, acme):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="p4ss")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match=f"row {webhook.pk} cannot be decrypted"):
        call_command("rotate_secrets", stdout=StringIO())


def test_it_re_encrypts_webhook_widget_passwords_and_secret_rows_in_flows(settings, acme):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    acme.http_support_enabled = True
    flow = make_flow(
        acme,
        webhook(
            "w1",
            "https://api.example.com/orders",
            auth={"type": "basic", "username": "ops", "password": "p4ss"},
            headers=[{"key": "X-Api-Key", "value": "k3y", "secret": True}],
            query_params=[{"key": "token", "value": "t0ken", "secret": True}],
        ),
        end(),
    )
    config = flow.widgets[0]["config"]
    before = [config["auth"]["password_encrypted"], config["headers"][0]["value_encrypted"]]

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    call_command("rotate_secrets", stdout=out)
    # Three secrets in the draft and the same three in revision 1, which keeps its own copy of the widgets.
    assert (
        "webhook widget secrets in flows and revisions (passwords, secret headers and query parameters): 6 value(s)"
        in out.getvalue()
    )

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    flow.refresh_from_db()
    for widgets in (flow.widgets, flow.revisions.get().widgets):
        config = widgets[0]["config"]
        after = [config["auth"]["password_encrypted"], config["headers"][0]["value_encrypted"]]
        assert after[0] != before[0] and after[1] != before[1]
        assert decrypt_secret(after[0]) == "p4ss"
        assert decrypt_secret(after[1]) == "k3y"
        assert decrypt_secret(config["query_params"][0]["value_encrypted"]) == "t0ken"


def test_a_secret_encrypted_anew_is_no_change_in_the_next_revision(settings, acme):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    acme.http_support_enabled = True
    auth = {"type": "basic", "username": "ops", "password": "p4ss"}
    flow = make_flow(acme, webhook("w1", "https://api.example.com/orders", auth=auth), end())
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_secrets", stdout=StringIO())  # the draft and revision 1 each get a new ciphertext
    flow.refresh_from_db()

    same = save_revision(flow, flow_wire_format(flow) | {"widgets": flow.widgets}, account=acme, user=None)
    changed_widgets = copy.deepcopy(flow.widgets)
    changed_widgets[0]["config"]["auth"]["password_encrypted"] = encrypt_secret("n3w")
    changed = save_revision(flow, flow_wire_format(flow) | {"widgets": changed_widgets}, account=acme, user=None)

    assert same.changes["changed"] == {}
    assert revision_diff(same)["widgets"] == {}
    assert changed.changes["changed"] == {"w1": ["config.auth"]}
    diff = revision_diff(changed)["widgets"]["w1"]
    assert diff == [{"path": "config.auth.password_encrypted", "old": "***", "new": "***"}]
