"""Flows and executions over the API; the same serializers back the site's forms and simulate_call.

A flow is judged by `flows.validation.validate_flow` alone: its FlowValidationError dict (keys
are dotted paths such as "widgets.0.config.url") is the 400 body. An execution request is
checked here against SPEC §7, so a call cannot smuggle in a structure the engine never expects.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.strict import StrictFieldsMixin
from flows import deliveries
from flows.delivery_log import REPLAYABLE_STATUSES
from flows.models import DeliveryStatus, Execution, Flow
from flows.validation import FlowValidationError, public_widgets, validate_flow
from flows.variables import CALL_FIELDS, invalid_names

MAX_VALUE_LENGTH = 1000
MAX_USER_KEYS = 100
MAX_RECORDINGS = 50
SCALARS = (str, int, float, bool, type(None))


def flow_wire_format(flow: Flow) -> dict[str, Any]:
    """The SPEC §6 wire format of a saved flow, as the API and pages show it (no secrets)."""
    return {
        "name": flow.name,
        "flow_end_webhook": flow.flow_end_webhook,
        "start": flow.start,
        "widgets": public_widgets(flow.widgets),
    }


class FlowSerializer(serializers.ModelSerializer):
    refuses_unknown_fields = True  # validate_flow names them (see accounts.api.strict)

    class Meta:
        model = Flow
        fields = ["id", "name", "flow_end_webhook", "start", "widgets", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send the flow as a JSON object (SPEC §6 format)."]}
            )
        # What GET answers must PUT back: read-only fields (id, created_at, …) are ignored on
        # write as DRF does; any other unknown field is left for validate_flow to refuse.
        data = {key: value for key, value in data.items() if key not in self._read_only_names()}
        if self.partial and self.instance is not None:
            data = {**flow_wire_format(self.instance), **data}
        try:
            previous = self.instance.widgets if self.instance is not None else None
            return validate_flow(data, account=self.context["account"], previous=previous)
        except FlowValidationError as error:
            raise serializers.ValidationError(error.errors)

    def _read_only_names(self) -> set[str]:
        return {name for name, field in self.fields.items() if field.read_only}

    def to_representation(self, flow: Flow) -> dict[str, Any]:
        representation = super().to_representation(flow)
        representation["widgets"] = public_widgets(flow.widgets)
        return representation


def check_scalar_map(value: Any, *, what: str) -> dict[str, Any]:
    """A flat JSON object of short scalar values (what `$user.key.*` are made of)."""
    if not isinstance(value, dict):
        raise serializers.ValidationError(f'Send {what} as a flat JSON object, e.g. {{"name": "value"}}.')
    errors = []
    for key, item in value.items():
        if not isinstance(item, SCALARS):
            errors.append(f"{key}: give a string, number or boolean, not a list or an object.")
        elif isinstance(item, str) and len(item) > MAX_VALUE_LENGTH:
            errors.append(f"{key}: at most {MAX_VALUE_LENGTH} characters.")
    if errors:
        raise serializers.ValidationError(errors)
    return value


def call_text(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_VALUE_LENGTH, help_text=help_text
    )


class CallSerializer(StrictFieldsMixin, serializers.Serializer):
    """The call an execution runs for (SPEC §7), any subset; each field becomes `$call.<field>`."""

    cli = call_text("The caller's number.")
    did = call_text("The number the caller dialled.")
    callee = call_text("The number the call was put through to.")
    incoming = serializers.BooleanField(required=False, allow_null=True, help_text="true for an inbound call.")
    state = call_text("The call's state, e.g. answered.")
    start = call_text("When the call started (the flow-end webhook's startTime).")
    connect_time = call_text("When the call was connected.")
    end_time = call_text("When the call ended (endTime).")
    duration = serializers.IntegerField(required=False, allow_null=True, min_value=0, help_text="Seconds.")
    hangup_cause = call_text("Why the call ended, e.g. NORMAL_CLEARING.")


class RecordingSerializer(StrictFieldsMixin, serializers.Serializer):
    file_name = serializers.CharField(max_length=MAX_VALUE_LENGTH)
    public_url = serializers.URLField(max_length=MAX_VALUE_LENGTH, help_text="An http(s) URL.")

    def validate_public_url(self, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("public_url must be an http(s) URL.")
        return url


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_USER_KEYS,
        "additionalProperties": {
            "anyOf": [{"type": "string", "maxLength": MAX_VALUE_LENGTH}, {"type": "number"}, {"type": "boolean"}],
            "nullable": True,
        },
        "description": "Flat: names of letters, digits and underscores, each becoming $user.key.NAME.",
    }
)
class UserKeysField(serializers.JSONField):
    pass


class ExecutionCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """`{flow, call, user_keys, recordings}`: queue an execution of one of the account's flows."""

    flow = serializers.PrimaryKeyRelatedField(
        queryset=Flow.objects.none(), error_messages={"does_not_exist": "No flow with id {pk_value} in this account."}
    )
    call = CallSerializer(required=False)
    user_keys = UserKeysField(required=False, default=dict)
    recordings = RecordingSerializer(many=True, required=False, max_length=MAX_RECORDINGS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        account = self.context.get("account")
        # Another account's flow id is "does not exist", exactly like a missing one.
        self.fields["flow"].queryset = Flow.objects.for_account(account) if account else Flow.objects.none()

    def unknown_field_hint(self, name: str) -> str:
        if name in CALL_FIELDS:
            return f'{name} is a call field: send it inside call, e.g. {{"call": {{"{name}": …}}}}.'
        return ""

    def validate_user_keys(self, user_keys: Any) -> dict[str, Any]:
        user_keys = check_scalar_map(user_keys, what="user_keys")
        if len(user_keys) > MAX_USER_KEYS:
            raise serializers.ValidationError(f"At most {MAX_USER_KEYS} user keys.")
        bad = invalid_names(user_keys)
        if bad:
            raise serializers.ValidationError(
                "Key names may hold only letters, digits and underscores (they become $user.key.NAME): "
                + ", ".join(map(str, bad))
            )
        return user_keys

    def create(self, validated_data: dict[str, Any]) -> Execution:
        flow = validated_data["flow"]
        return Execution.objects.create(
            account_id=flow.account_id,
            flow=flow,
            call=dict(validated_data.get("call") or {}),
            user_keys=validated_data["user_keys"],
            recordings=[dict(recording) for recording in validated_data.get("recordings", [])],
        )


class ExecutionSerializer(serializers.ModelSerializer):
    """An execution in a list: everything but its flow-end delivery (one query per row)."""

    class Meta:
        model = Execution
        fields = [
            "id", "flow", "status", "call", "variables", "steps", "failure_reason",
            "created_at", "started_at", "finished_at", "attempts",
        ]  # fmt: skip
        read_only_fields = fields


class ExecutionDetailSerializer(ExecutionSerializer):
    flow_end_webhook = serializers.SerializerMethodField()

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "flow_end_webhook"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_flow_end_webhook(self, execution: Execution) -> dict | None:
        """The flow-end delivery and its attempts, or null when none was made."""
        return deliveries.describe_delivery(execution)


class QueuedSerializer(serializers.Serializer):
    """The 202 answer: the execution was queued; poll its URL for the outcome."""

    id = serializers.UUIDField()
    status = serializers.CharField()


class DeliveryRecordSerializer(serializers.Serializer):
    """A row of the deliveries log (flows.delivery_log.as_record), for the API schema."""

    id = serializers.IntegerField()
    webhook_id = serializers.CharField(help_text="The Standard Webhooks `webhook-id`, the same on every attempt.")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    created_at = serializers.DateTimeField()
    execution = serializers.UUIDField()
    flow = serializers.IntegerField()
    flow_name = serializers.CharField()
    webhook = serializers.IntegerField(allow_null=True)
    webhook_name = serializers.CharField(allow_null=True)
    cli = serializers.CharField(allow_null=True)
    did = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class ReplayRequestSerializer(serializers.Serializer):
    """The body of a bulk replay (validated by flows.delivery_log.ReplayForm); every field optional."""

    status = serializers.ChoiceField(
        choices=[choice.value for choice in REPLAYABLE_STATUSES], required=False, help_text="Default: failed."
    )
    since = serializers.DateTimeField(required=False, help_text="Default: 31 days before until.")
    until = serializers.DateTimeField(required=False, help_text="Default: now. At most 31 days after since.")
    flow = serializers.IntegerField(required=False)
    webhook = serializers.IntegerField(required=False)
    cli = serializers.CharField(required=False)
    did = serializers.CharField(required=False)


class WidgetTestSerializer(serializers.Serializer):
    """The request of `POST /api/v1/flows/test-widget/` (for the schema; flows.trial judges it)."""

    refuses_unknown_fields = True  # flows.trial names them (see accounts.api.strict)

    config = serializers.DictField(help_text="A webhook widget's config (SPEC §6).")
    variables = serializers.DictField(required=False, help_text='Sample values: {"$call.cli": "+15550100", …}.')
    flow = serializers.IntegerField(
        required=False, min_value=1, help_text="With widget: use that widget's stored secrets."
    )
    widget = serializers.CharField(required=False)
    confirm = serializers.BooleanField(
        required=False, help_text="Run an internal function that changes data for real (else it is rolled back)."
    )


class WidgetTestResultSerializer(serializers.Serializer):
    """The answer of a widget test (SPEC §13)."""

    request = serializers.JSONField(help_text="{method, url, headers, auth, body}; secrets masked.")
    response = serializers.JSONField(
        help_text="{status_code, headers, body (first 64 KiB), truncated, duration} or null."
    )
    mappings = serializers.JSONField(help_text="[{save_in, path, mandatory, matched, value, suggestions}]")
    variables = serializers.JSONField(help_text="The variables a call would set.")
    line = serializers.IntegerField(help_text="0 success, 1 failure.")
    error_reason = serializers.CharField(allow_null=True)
    error_detail = serializers.CharField()
    tree = serializers.JSONField(help_text="The answer as {label, path, value, children} nodes, or null.")
