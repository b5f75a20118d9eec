from django.db import models

from accounts.models import AccountOwned


class Flow(AccountOwned):
    """A call flow: a graph of widgets in the SPEC §6 wire format.

    `widgets` holds the list exactly as the API receives it (webhook widget passwords encrypted);
    `layout` keeps the designer's box positions, {widget_id: {"x": .., "y": ..}}.

    These fields are the **draft**: always the latest revision's content (flows.revisions keeps
    them so), here so that lists, the designer and the test runner read one row. Calls run
    `published_revision`, which may be older.
    """

    name = models.CharField(max_length=200)
    flow_end_webhook = models.BooleanField(default=False)
    start = models.CharField(max_length=64)
    widgets = models.JSONField(default=list)
    layout = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_revision = models.ForeignKey(
        "flows.FlowRevision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
