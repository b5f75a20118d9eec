import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from webhooks.models import Webhook


@pytest.fixture
def demo_api_on(settings):
    settings.DEMO_API = True


def signed_post(client, secret: str, body: dict):
    payload = json.dumps(body)
    signature = StandardWebhook(secret).sign("msg_1", datetime.now(UTC), payload)
    timestamp = str(int(datetime.now(UTC).timestamp()))
    return client.post(
        "/demo-api/receiver/",
        payload,
        content_type="application/json",
        headers={"webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": signature},
    )


def test_the_demo_receiver_shows_what_arrived_and_whether_it_verified(client, acme, demo_api_on):
    webhook = Webhook.objects.create(
        account=acme, name="Demo receiver", url="http://127.0.0.1:8000/demo-api/receiver/", is_default=True
    )
    assert signed_post(client, webhook.signing_secret, {"phonon-uuid": "abc-123"}).status_code == 200
    assert signed_post(client, "whsec_" + "QUJD" * 8, {"phonon-uuid": "forged-456"}).status_code == 200

    page = client.get("/demo-api/receiver/").content.decode()
    assert page.index("forged-456") < page.index("abc-123")  # newest first
    assert page.count("signature verified") == 1
    assert page.count("signature not verified") == 1


@pytest.mark.parametrize("path", ["/demo-api/receiver/", "/demo-api/orders/42/", "/demo-api/slow/?seconds=0"])
def test_the_demo_api_is_not_served_unless_turned_on(client, db, settings, path):
    """Public by design (anyone may read the received deliveries), so production does not serve it."""
    settings.DEMO_API = False
    assert client.get(path).status_code == 404
    assert client.post("/demo-api/receiver/", "{}", content_type="application/json").status_code == 404
    settings.DEMO_API = True
    assert client.get(path).status_code == 200


def test_the_demo_receiver_keeps_a_body_too_deep_to_read_as_text(client, db, demo_api_on):
    body = "[" * 2000 + "]" * 2000

    assert client.post("/demo-api/receiver/", body, content_type="application/json").status_code == 200
    assert "[[[[" in client.get("/demo-api/receiver/").content.decode()


def test_the_failing_demo_api_fails_without_an_error_in_the_log(client, demo_api_on, caplog):
    response = client.post("/demo-api/failing/", "{}", content_type="application/json")

    assert response.status_code == 500  # the failure branch's answer, on purpose
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
