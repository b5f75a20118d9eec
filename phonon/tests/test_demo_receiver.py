import json
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook

from webhooks.models import Webhook


def signed_post(client, secret: str, body: dict):
    payload = json.dumps(body)
    signature = StandardWebhook(secret).sign("msg_1", datetime.now(UTC), payload)
    timestamp = str(int(datetime.now(UTC).timestamp()))
    return client.post(
        "/demo-api/receiver/", payload, content_type="application/json",
        headers={"webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": signature},
    )


def test_the_demo_receiver_shows_what_arrived_and_whether_it_verified(client, acme):
    webhook = Webhook.objects.create(
        account=acme, name="Demo receiver", url="http://127.0.0.1:8000/demo-api/receiver/", is_default=True
    )
    assert signed_post(client, webhook.signing_secret, {"phonon-uuid": "abc-123"}).status_code == 200
    assert signed_post(client, "whsec_" + "QUJD" * 8, {"phonon-uuid": "forged-456"}).status_code == 200

    page = client.get("/demo-api/receiver/").content.decode()
    assert page.index("forged-456") < page.index("abc-123")  # newest first
    assert page.count("signature verified") == 1
    assert page.count("signature not verified") == 1
