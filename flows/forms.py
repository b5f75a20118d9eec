"""Site forms: the executions filter (shared with the API list) and the "Start a call" form; the
deliveries log builds on the same date range (flows/delivery_log.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from flows.models import Execution, ExecutionStatus, Flow
from phone_numbers.models import clean_phone_number


def phone_number(text: str) -> str:
    try:
        return clean_phone_number(text)
    except ValueError as error:
        raise forms.ValidationError(str(error)) from None


def is_date(text: object) -> bool:
    """Whether a filter value is a plain date (`2026-11-01`), which stands for its whole day."""
    try:
        return isinstance(text, str) and parse_date(text.strip()) is not None
    except ValueError:
        return False


EARLIEST, LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


class DateOrDateTimeField(forms.CharField):
    """`2026-11-01` (a whole day) or an ISO 8601 date-time, in UTC; the one reader of the date
    filters (executions, deliveries, the report). `end_of_day` makes a date end with its day:
    the start of the next one, an exclusive end."""

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> datetime | None:
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        try:  # a date first: parse_datetime() would read "2026-11-01" as its midnight
            day = parse_date(text)
            moment = None if day else parse_datetime(text)
        except ValueError:
            moment = day = None
        if day is None and moment is None:
            raise forms.ValidationError("Enter a date as YYYY-MM-DD or a date-time as YYYY-MM-DDTHH:MM[:SS][+HH:MM].")
        try:
            if day is not None:
                moment = datetime.combine(day + timedelta(days=1) if self.end_of_day else day, time.min)
            # In UTC: PostgreSQL refuses offsets such as -18:43, which Python accepts.
            return (timezone.make_aware(moment) if timezone.is_naive(moment) else moment).astimezone(UTC)
        except OverflowError:
            # The day after 9999-12-31, or a zone's shift past either end of the calendar (clients
            # write 0001-01-01 or 9999-12-31 for "no bound"): as far as the calendar goes.
            return EARLIEST if (day or moment).year == 1 else LATEST


class DateRangeFilterForm(forms.Form):
    """`?since=&until=` on a creation time: a date (2025-01-31: the whole day) or an ISO date-time,
    both ends inclusive."""

    since = DateOrDateTimeField(help_text="A date or an ISO date-time.")
    until = DateOrDateTimeField(end_of_day=True, help_text="A date (the whole day) or an ISO date-time.")

    def filter_dates(self, rows: QuerySet, field: str = "created_at") -> QuerySet:
        data = self.cleaned_data
        if data.get("since"):
            rows = rows.filter(**{f"{field}__gte": data["since"]})
        if data.get("until"):
            lookup = "lt" if is_date(self.data.get("until")) else "lte"  # a date's end is the next midnight
            rows = rows.filter(**{f"{field}__{lookup}": data["until"]})
        return rows


class ExecutionFilterForm(DateRangeFilterForm):
    """`?flow=&status=&since=&until=` for the executions page and `GET /api/v1/executions/`."""

    flow = forms.ModelChoiceField(queryset=Flow.objects.none(), required=False, empty_label="Any flow")
    status = forms.ChoiceField(choices=[("", "Any status"), *ExecutionStatus.choices], required=False)
    field_order = ["flow", "status", "since", "until"]

    def __init__(self, *args, account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flow"].queryset = Flow.objects.for_account(account)

    def filter(self, executions: QuerySet[Execution]) -> QuerySet[Execution]:
        """Apply the valid filters; call after is_valid()."""
        data = self.cleaned_data
        if data.get("flow"):
            executions = executions.filter(flow=data["flow"])
        if data.get("status"):
            executions = executions.filter(status=data["status"])
        return self.filter_dates(executions)


class StartCallForm(forms.Form):
    """The site's "Start a call": the caller and the number they dialled (phone numbers, by the
    Direct Dial rule); the rest is optional."""

    cli = forms.CharField(label="Caller number (CLI)", max_length=40, initial="+15550100")
    did = forms.CharField(label="Dialled number (DID)", max_length=40, initial="+15550199")
    user_keys = forms.CharField(
        label="User keys",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One key=value a line; they become $user.key.KEY.",
    )

    def clean_cli(self) -> str:
        return phone_number(self.cleaned_data["cli"])

    def clean_did(self) -> str:
        return phone_number(self.cleaned_data["did"])

    def clean_user_keys(self) -> dict[str, str]:
        keys = {}
        for line in self.cleaned_data["user_keys"].splitlines():
            if not line.strip():
                continue
            key, separator, value = line.partition("=")
            if not separator:
                raise forms.ValidationError(f"Write each key as key=value; {line.strip()!r} has no '='.")
            keys[key.strip()] = value.strip()
        return keys
