"""The deliveries log (SPEC §16): one filter, one record shape and one CSV for the page and the API,
and the window rules of a bulk replay.

Every query starts from the account's own deliveries, so a filter can never reach another
account's rows, and the CSV's header and cells equal the JSON records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django import forms
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from phonon.lib.spreadsheet import csv_text, format_time, safe_cells
from webhooks.models import Webhook

from .forms import EARLIEST, DateRangeFilterForm
from .models import Delivery, DeliveryAttempt, DeliveryStatus, Flow

CSV_CHUNK_ROWS = 2000
MAX_REPLAY_WINDOW = timedelta(days=31)
REPLAYABLE_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.DELIVERED)


class DeliveryFilterForm(DateRangeFilterForm):
    """`?status=&flow=&webhook=&since=&until=&cli=&did=&webhook_id=` (since/until on the creation time)."""

    status = forms.ChoiceField(choices=[("", "Any status"), *DeliveryStatus.choices], required=False)
    flow = forms.ModelChoiceField(queryset=Flow.objects.none(), required=False, empty_label="Any flow")
    webhook = forms.ModelChoiceField(queryset=Webhook.objects.none(), required=False, empty_label="Any webhook")
    cli = forms.CharField(required=False, max_length=40, label="CLI", help_text="Part of the caller's number.")
    did = forms.CharField(required=False, max_length=40, label="DID", help_text="Part of the dialled number.")
    webhook_id = forms.CharField(required=False, max_length=40, label="webhook-id", help_text="msg_…")
    field_order = ["status", "flow", "webhook", "since", "until", "cli", "did", "webhook_id"]

    def __init__(self, *args, account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["flow"].queryset = Flow.objects.for_account(account)
        self.fields["webhook"].queryset = Webhook.objects.for_account(account)

    def filter(self, deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
        """Apply the valid filters; call after is_valid()."""
        data = self.cleaned_data
        if data.get("status"):
            deliveries = deliveries.filter(status=data["status"])
        if data.get("flow"):
            deliveries = deliveries.filter(execution__flow=data["flow"])
        if data.get("webhook"):
            deliveries = deliveries.filter(webhook=data["webhook"])
        if data.get("cli"):
            deliveries = deliveries.filter(cli__contains=data["cli"])
        if data.get("did"):
            deliveries = deliveries.filter(did__contains=data["did"])
        if data.get("webhook_id"):
            deliveries = deliveries.filter(message_id=data["webhook_id"].strip())
        return self.filter_dates(deliveries)

    def deliveries(self) -> QuerySet[Delivery]:
        """The account's deliveries under the filters, newest first, with what a record shows."""
        return self.filter(log_rows(Delivery.objects.for_account(self.account)))


class ReplayForm(DeliveryFilterForm):
    """`POST /api/v1/deliveries/replay/`: the log's filters, a replayable status (default `failed`) and a
    window of at most 31 days (default: the 31 days up to now)."""

    status = forms.ChoiceField(choices=[(status.value, status.label) for status in REPLAYABLE_STATUSES], required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["status"] = data.get("status") or DeliveryStatus.FAILED
        until = data.get("until") or timezone.now()
        since = data.get("since") or max(until, EARLIEST + MAX_REPLAY_WINDOW) - MAX_REPLAY_WINDOW
        if since > until:
            raise forms.ValidationError("since must be before until.")
        if until - since > MAX_REPLAY_WINDOW:
            raise forms.ValidationError("The replay window is at most 31 days: narrow since and until.")
        data["since"], data["until"] = since, until
        return data


def log_rows(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Deliveries with their call numbers, flow, webhook and last attempt: one query, however many rows."""
    last_attempt = DeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-attempted_at", "-pk")
    return (
        deliveries.select_related("execution__flow", "webhook")
        .annotate(
            cli=KeyTextTransform("cli", "execution__call"),
            did=KeyTextTransform("did", "execution__call"),
            attempt_count=Count("attempts"),
            last_attempt_at=Max("attempts__attempted_at"),
            last_status_code=Subquery(last_attempt.values("status_code")[:1]),
            last_error=Subquery(last_attempt.values("error_reason")[:1]),
        )
        .order_by("-pk")  # newest first; the CSV's keyset walks the same order
    )


RECORD_KEYS = (
    "id", "webhook_id", "status", "created_at", "execution", "flow", "flow_name", "webhook", "webhook_name",
    "cli", "did", "attempts", "last_attempt_at", "last_status_code", "last_error", "next_attempt_at",
)  # fmt: skip


def as_record(delivery: Delivery) -> dict:
    """A row of the log, the same for the page, the API and the CSV (RECORD_KEYS, in order)."""
    flow = delivery.execution.flow
    return {
        "id": delivery.pk,
        "webhook_id": delivery.message_id,
        "status": delivery.status,
        "created_at": format_time(delivery.created_at),
        "execution": str(delivery.execution_id),
        "flow": flow.pk,
        "flow_name": flow.name,
        "webhook": delivery.webhook_id,
        "webhook_name": delivery.webhook.name if delivery.webhook else None,
        "cli": delivery.cli,
        "did": delivery.did,
        "attempts": delivery.attempt_count,
        "last_attempt_at": format_time(delivery.last_attempt_at) if delivery.last_attempt_at else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error or None,
        "next_attempt_at": format_time(delivery.next_attempt_at) if delivery.next_attempt_at else None,
    }


def csv_lines(deliveries: QuerySet[Delivery]) -> Iterator[str]:
    """The filtered log as CSV, in chunks by keyset on the primary key (no cursor held open while the
    client reads), each cell the text of the JSON record's value."""

    def chunks():
        chunk = deliveries.order_by("-pk")
        while True:
            rows = list(chunk[:CSV_CHUNK_ROWS])
            if rows:
                yield [safe_cells(csv_cell(value) for value in as_record(row).values()) for row in rows]
            if len(rows) < CSV_CHUNK_ROWS:
                return
            chunk = deliveries.order_by("-pk").filter(pk__lt=rows[-1].pk)

    return csv_text(list(RECORD_KEYS), chunks())


def csv_cell(value) -> str | None:
    return None if value is None else str(value)
