"""The report's filters (flow, date range, status) and sort: one form for the page, the API,
the CSV export and the charts, so they all read the query string the same way."""

from dataclasses import dataclass
from datetime import datetime

from django import forms

from accounts.models import Account
from flows.forms import DateOrDateTimeField
from flows.models import Flow

from .models import ReportOutcome

SORT_NEWEST_FIRST = "-time"
SORT_OLDEST_FIRST = "time"


@dataclass(frozen=True)
class ReportFilters:
    flow: Flow | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    status: str = ""
    sort: str = SORT_NEWEST_FIRST

    @property
    def newest_first(self) -> bool:
        return self.sort != SORT_OLDEST_FIRST


class ReportFilterForm(forms.Form):
    """Bound to request.GET. Every field is optional; the field names are the query parameters."""

    flow = forms.ModelChoiceField(queryset=Flow.objects.none(), required=False, empty_label="All flows")
    since = DateOrDateTimeField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = DateOrDateTimeField(label="To", end_of_day=True, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=[("", "Any status"), *ReportOutcome.choices], required=False)
    sort = forms.ChoiceField(
        choices=[(SORT_NEWEST_FIRST, "Newest first"), (SORT_OLDEST_FIRST, "Oldest first")],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, data, *, account: Account):
        super().__init__(data)
        # Another account's flow id is "not one of the choices", exactly like a missing one.
        self.fields["flow"].queryset = Flow.objects.for_account(account).only("id", "name").order_by("name")
        self.fields["flow"].error_messages["invalid_choice"] = "Give the numeric id of one of this account's flows."

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "The end of the date range must come after its start.")
        return cleaned

    def filters(self) -> ReportFilters:
        """The validated filters; call only after is_valid()."""
        data = self.cleaned_data
        return ReportFilters(
            flow=data.get("flow"),
            since=data.get("since"),
            until=data.get("until"),
            status=data.get("status") or "",
            sort=data.get("sort") or SORT_NEWEST_FIRST,
        )


def parse_filters(data, account: Account) -> tuple[ReportFilters | None, dict[str, list[str]]]:
    """(filters, {}) when the query string is valid, else (None, {parameter: [messages]})."""
    form = ReportFilterForm(data, account=account)
    if not form.is_valid():
        return None, {field: list(messages) for field, messages in form.errors.items()}
    return form.filters(), {}
