"""The report API's shapes, for the schema at /api/schema/; `UdfReport.as_record` builds the data."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from accounts.api.schema import DATE_OR_DATETIME, OBJECT_ID

from .models import ReportOutcome


class ReportRecordSerializer(serializers.Serializer):
    execution = serializers.UUIDField(help_text="The execution's id (its phonon-uuid).")
    flow = serializers.IntegerField()
    flow_name = serializers.CharField()
    started_at = serializers.CharField(help_text="ISO 8601 in UTC, to the second.")
    status = serializers.ChoiceField(choices=ReportOutcome.choices)
    cli = serializers.CharField()
    did = serializers.CharField()
    udf = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        help_text="One entry per column; null where this execution has no value.",
    )


class UdfReportSerializer(serializers.Serializer):
    columns = serializers.ListField(
        child=serializers.CharField(), help_text="The persisted variables of the filtered executions."
    )
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ReportRecordSerializer(many=True)


class WidgetDurationSerializer(serializers.Serializer):
    flow = serializers.IntegerField()
    flow_name = serializers.CharField()
    widget = serializers.CharField()
    calls = serializers.IntegerField()
    failures = serializers.IntegerField()
    average_seconds = serializers.FloatField()
    p95_seconds = serializers.FloatField()


class ExecutionsPerDaySerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.DateField())
    completed = serializers.ListField(child=serializers.IntegerField())
    failed = serializers.ListField(child=serializers.IntegerField())
    completed_with_webhook_failures = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Of `completed`: executions that had a webhook call fail (they went on along line 1).",
    )


class ReportChartsSerializer(serializers.Serializer):
    executions_per_day = ExecutionsPerDaySerializer()
    webhook_durations = WidgetDurationSerializer(many=True)


FILTER_PARAMETERS = [
    OpenApiParameter("flow", OBJECT_ID, description="Only this flow's executions (its id)."),
    OpenApiParameter("since", DATE_OR_DATETIME, description="From this date (YYYY-MM-DD) or date-time, inclusive."),
    OpenApiParameter("until", DATE_OR_DATETIME, description="To this date, inclusive (a date-time: exclusive)."),
    OpenApiParameter("status", str, enum=ReportOutcome.values),
    OpenApiParameter("sort", str, enum=["-time", "time"], description="Newest first (default) or oldest first."),
]
