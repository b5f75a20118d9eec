"""Numbered revisions of a flow and the test cases that guard publishing them (SPEC §14)."""

from django.conf import settings
from django.db import models

from accounts.models import AccountOwned


class FlowRevision(AccountOwned):
    """One saved version of a flow: a snapshot of its wire format, numbered from 1 per flow.

    Revisions are never edited. Calls run the flow's published revision (`Flow.published_revision`);
    `changes` is what this revision changed against the one before (phonon.lib.flow_diff), kept
    so the history needs no second revision to read.
    """

    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    flow_end_webhook = models.BooleanField(default=False)
    start = models.CharField(max_length=64)
    widgets = models.JSONField(default=list)
    layout = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    # The revision this one copies when made by "Restore this revision"; null for an edit.
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # The last time it was published, by whom, and whether failing test cases were overridden.
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    forced = models.BooleanField(default=False, help_text="Published with failing test cases (force).")

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [models.UniqueConstraint(fields=["flow", "number"], name="flow_revision_number")]

    def __str__(self) -> str:
        return f"{self.flow_id} revision {self.number}"

    def wire_format(self) -> dict:
        """What the engine and the test runner read: the SPEC §6 fields of this revision."""
        return {
            "name": self.name,
            "flow_end_webhook": self.flow_end_webhook,
            "start": self.start,
            "widgets": self.widgets,
        }


class FlowTestCase(AccountOwned):
    """A call with pinned webhook answers and what the flow is expected to do with it (SPEC §14)."""

    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    call = models.JSONField(default=dict, blank=True)
    user_keys = models.JSONField(default=dict, blank=True)
    # {widget_id: {status_code, headers, body}}: the answer each webhook widget gets instead of the network.
    responses = models.JSONField(default=dict, blank=True)
    # {path: [widget ids visited, the end included], variables: {full name: value}}
    expect = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["flow", "name", "pk"]

    def __str__(self) -> str:
        return self.name
