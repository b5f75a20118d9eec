from demo.seed_webhooks import seed_demo_webhooks
from phone_numbers.models import DirectDialNumber
from webhooks.models import Webhook


def test_the_demo_registers_a_default_receiver_and_the_orders_api(settings, acme):
    settings.DEMO_BASE_URL = "http://127.0.0.1:8000"
    seed_demo_webhooks(acme)
    receiver = Webhook.objects.get(account=acme, is_default=True)
    assert (receiver.method, receiver.url) == ("POST", "http://127.0.0.1:8000/demo-api/receiver/")
    assert Webhook.objects.filter(account=acme, url="http://127.0.0.1:8000/demo-api/orders/").exists()
    assert DirectDialNumber.objects.filter(account=acme).count() >= 2


def test_seeding_twice_changes_nothing(settings, acme):
    seed_demo_webhooks(acme)
    secrets = sorted(webhook.signing_secret for webhook in Webhook.objects.all())
    seed_demo_webhooks(acme)
    assert Webhook.objects.count() == 2 and DirectDialNumber.objects.count() == 3
    assert sorted(webhook.signing_secret for webhook in Webhook.objects.all()) == secrets
    assert Webhook.objects.filter(is_default=True).count() == 1
