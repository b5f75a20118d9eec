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
from flows import deliveries, revisions
from flows.delivery_log import REPLAYABLE_STATUSES
from flows.models import DeliveryStatus, Execution, Flow, FlowTestCase
from flows.test_cases import MAX_TEST_CASES, clean_expect, clean_responses
from flows.validation import FlowValidationError, public_widgets, validate_flow
from flows.variables import CALL_FIELDS, invalid_names
from flows.widgets.cleaning import Errors

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
    """The flow's draft in the wire format, with its revision numbers (SPEC §14).

    Writes go through flows.revisions.save_revision: POST makes revision 1, published; PUT and
    PATCH make a draft unless `"publish": true` (`"force": true` past failing test cases).
    """

    revision = serializers.SerializerMethodField(help_text="The draft's revision number (the latest).")
    published_revision = serializers.SerializerMethodField(help_text="The revision calls run.")
    # How a write is saved, not part of the flow: taken out before validate_flow reads the rest.
    publish = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text="PUT/PATCH: publish the new revision at once."
    )
    force = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text="With publish: publish although test cases fail."
    )
    refuses_unknown_fields = True  # validate_flow names them (see accounts.api.strict)

    class Meta:
        model = Flow
        fields = [
            "id", "name", "flow_end_webhook", "start", "widgets", "revision", "published_revision",
            "publish", "force", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    PUBLISH_OPTIONS = ("publish", "force")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send the flow as a JSON object (SPEC §6 format)."]}
            )
        self.publish_options = {}
        for option in self.PUBLISH_OPTIONS:
            if option in data and not isinstance(data[option], bool):
                raise serializers.ValidationError({option: [f"{option} must be true or false."]})
            self.publish_options[option] = data.get(option, False)
        # What GET answers must PUT back: read-only fields (id, created_at, …) are ignored on
        # write as DRF does; any other unknown field is left for validate_flow to refuse.
        skipped = self._read_only_names() | set(self.PUBLISH_OPTIONS)
        data = {key: value for key, value in data.items() if key not in skipped}
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

    def get_revision(self, flow: Flow) -> int:
        # FlowViewSet annotates lists with it; a single flow asks.
        return getattr(flow, "latest_revision", None) or revisions.latest_number(flow)

    def get_published_revision(self, flow: Flow) -> int | None:
        return flow.published_revision.number if flow.published_revision_id else None

    def create(self, validated_data: dict[str, Any]) -> Flow:
        return revisions.save_revision(
            None, validated_data, account=self.context["account"], user=self.context["request"].user
        ).flow  # a new flow's first publish is in its "created" row, which the view writes

    def update(self, flow: Flow, validated_data: dict[str, Any]) -> Flow:
        revision = revisions.save_revision(
            flow,
            validated_data,
            account=self.context["account"],
            user=self.context["request"].user,
            request=self.context["request"],
            **self.publish_options,
        )
        return Flow.objects.select_related("published_revision").get(pk=revision.flow_id)


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


def clean_user_keys(user_keys: Any) -> dict[str, Any]:
    """User keys: a flat object whose names can become $user.key.NAME."""
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
    """User keys, for a queued call and a test case alike (clean_user_keys)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return clean_user_keys(super().to_internal_value(data))


@extend_schema_field(CallSerializer)
class CallField(serializers.JSONField):
    """A call kept as JSON (a test case's), judged by CallSerializer as a queued call's is."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        call = CallSerializer(data=data)
        call.is_valid(raise_exception=True)
        return dict(call.validated_data)


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

    def create(self, validated_data: dict[str, Any]) -> Execution:
        return Execution.queue(
            validated_data["flow"],
            call=dict(validated_data.get("call") or {}),
            user_keys=validated_data["user_keys"],
            recordings=[dict(recording) for recording in validated_data.get("recordings", [])],
        )


class ExecutionSerializer(serializers.ModelSerializer):
    """An execution in a list: everything but its flow-end delivery (one query per row)."""

    class Meta:
        model = Execution
        fields = [
            "id", "flow", "revision", "status", "call", "variables", "steps", "failure_reason",
            "created_at", "started_at", "finished_at", "attempts",
        ]  # fmt: skip
        read_only_fields = fields

    revision = serializers.IntegerField(source="revision.number", read_only=True, help_text="The revision it ran.")


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


class TestCaseSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """`{id, name, call, user_keys, responses, expect}` (SPEC §14); the flow comes from the URL."""

    class Meta:
        model = FlowTestCase
        fields = ["id", "name", "call", "user_keys", "responses", "expect", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    call = CallField(required=False, default=dict)
    user_keys = UserKeysField(required=False, default=dict)
    responses = serializers.JSONField(
        required=False, default=dict, help_text="{widget_id: {status_code, headers, body}}"
    )
    expect = serializers.JSONField(
        required=False, default=dict, help_text="{path: [widget ids], variables: {name: value}}"
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        errors = Errors()
        if "responses" in data:
            data["responses"] = clean_responses(data["responses"], errors)
        if "expect" in data:
            data["expect"] = clean_expect(data["expect"], errors)
        flow = self.context["flow"]
        if self.instance is None and flow.test_cases.count() >= MAX_TEST_CASES:
            errors.add("non_field_errors", f"A flow can have at most {MAX_TEST_CASES} test cases; delete one first.")
        if errors:
            raise serializers.ValidationError(errors.by_key)
        return data


class PublishSerializer(StrictFieldsMixin, serializers.Serializer):
    revision = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="Roll back: publish revision N itself."
    )
    force = serializers.BooleanField(required=False, default=False, help_text="Publish although test cases fail.")


class PublishedSerializer(serializers.Serializer):
    published_revision = serializers.IntegerField()
    forced = serializers.BooleanField()


class RestoreSerializer(StrictFieldsMixin, serializers.Serializer):
    revision = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The revision whose content becomes the draft."
    )


class RevisionSerializer(serializers.Serializer):
    """One line of a flow's history (flows.revisions.describe_revision)."""

    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    published = serializers.BooleanField(help_text="Calls run this revision now.")
    published_at = serializers.DateTimeField(allow_null=True, help_text="When it was last published.")
    published_by = serializers.CharField(allow_null=True)
    forced = serializers.BooleanField(help_text="Published with failing test cases.")
    restored_from = serializers.IntegerField(allow_null=True, help_text="Made by restoring this revision.")
    changes = serializers.JSONField(
        help_text="{added: [ids], removed: [ids], changed: {id: [fields]}, settings: [names]}"
    )


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


class ReplayRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """The body of a bulk replay; every field optional. flows.delivery_log.ReplayForm judges the
    values, this its fields (`check_fields`)."""

    status = serializers.ChoiceField(
        choices=[choice.value for choice in REPLAYABLE_STATUSES], required=False, help_text="Default: failed."
    )
    since = serializers.DateTimeField(required=False, help_text="Default: 31 days before until.")
    until = serializers.DateTimeField(required=False, help_text="Default: now. At most 31 days after since.")
    flow = serializers.IntegerField(required=False)
    webhook = serializers.IntegerField(required=False)
    cli = serializers.CharField(required=False, max_length=40, help_text="Part of the caller's number.")
    did = serializers.CharField(required=False, max_length=40, help_text="Part of the dialled number.")
    webhook_id = serializers.CharField(
        required=False, max_length=40, help_text="The Standard Webhooks `webhook-id` (msg_…)."
    )


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
