"""Flow end webhook deliveries (SPEC §8). Owned by the flow-end-webhook work."""

from django.db import models

from accounts.models import AccountOwned


class Delivery(AccountOwned):
    execution = models.OneToOneField("flows.Execution", on_delete=models.CASCADE, related_name="delivery")
    webhook = models.ForeignKey("webhooks.Webhook", on_delete=models.SET_NULL, null=True, related_name="deliveries")


class DeliveryAttempt(AccountOwned):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
