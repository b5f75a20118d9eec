"""The webhook as the API shows it; every rule lives in `webhooks.validation`, shared with the site form."""

from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.strict import StrictFieldsMixin

from .models import Webhook
from .validation import WebhookRejected, clean_webhook, save_webhook


def can_see_signing_secret(context: dict) -> bool:
    """Owners and developers see the signing secret; viewers do not (it can forge deliveries)."""
    request = context.get("request")
    token = getattr(request, "auth", None)
    return bool(token is not None and token.membership.can_write)


class WebhookSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    # Plain char fields: the choices, the URL policy and every other rule are checked once, in
    # validation.clean_webhook, so the API and the site answer with the same sentences.
    name = serializers.CharField(required=False, allow_blank=True, max_length=None)
    url = serializers.CharField(required=False, allow_blank=True, max_length=None, trim_whitespace=False)
    method = serializers.CharField(required=False, allow_blank=True)
    auth_type = serializers.CharField(required=False, allow_blank=True)
    username = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Basic-auth password; never returned. Leave it out (or blank) to keep the stored one.",
    )
    body_type = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    is_default = serializers.BooleanField(required=False)
    signing_secret = serializers.SerializerMethodField(
        help_text="The Standard Webhooks secret flow-end deliveries are signed with; null for viewers."
    )

    previous_signing_secret = serializers.SerializerMethodField(
        help_text="After a rotation, the old secret deliveries are still signed with until "
        "previous_secret_expires_at; null outside the overlap and for viewers."
    )
    previous_secret_expires_at = serializers.SerializerMethodField()
    deliveries_disabled_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When flow-end deliveries were disabled for failing too long (SPEC §16); null if not.",
    )
    deliveries_failing_since = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Webhook
        fields = [
            "id", "name", "url", "method", "auth_type", "username", "password",
            "body_type", "is_default", "signing_secret", "previous_signing_secret", "previous_secret_expires_at",
            "deliveries_disabled_at", "deliveries_failing_since", "notes",
        ]  # fmt: skip

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_signing_secret(self, webhook: Webhook) -> str | None:
        return webhook.signing_secret if can_see_signing_secret(self.context) else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_previous_signing_secret(self, webhook: Webhook) -> str | None:
        secrets = webhook.signing_secrets()
        return secrets[1] if len(secrets) > 1 and can_see_signing_secret(self.context) else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_previous_secret_expires_at(self, webhook: Webhook) -> datetime | None:
        return webhook.previous_secret_expires_at if len(webhook.signing_secrets()) > 1 else None

    def validate(self, attrs: dict) -> dict:
        try:
            return clean_webhook(self.context["account"], attrs, instance=self.instance)
        except WebhookRejected as rejected:
            raise serializers.ValidationError(rejected.errors)

    def create(self, validated_data: dict) -> Webhook:
        validated_data.pop("account", None)
        return save_webhook(self.context["account"], validated_data, request=self.context.get("request"))

    def update(self, instance: Webhook, validated_data: dict) -> Webhook:
        return save_webhook(
            self.context["account"], validated_data, instance=instance, request=self.context.get("request")
        )


class UrlCheckSerializer(StrictFieldsMixin, serializers.Serializer):
    url = serializers.CharField(allow_blank=True, trim_whitespace=False)


class UrlCheckResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    reason = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The answer's HTTP status, null without one.")
    warning = serializers.CharField(
        required=False, help_text="Only when the URL answered 4xx/5xx: reachable, but probably not the right address."
    )


class InternalFunctionSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    methods = serializers.ListField(child=serializers.CharField())
    variable = serializers.CharField()


class InternalResultSerializer(serializers.Serializer):
    variable = serializers.CharField()
    value = serializers.CharField()
    ok = serializers.BooleanField()


class EndpointFailureSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    error_reason = serializers.CharField()
    detail = serializers.CharField()


class EndpointHealthSerializer(serializers.Serializer):
    """One endpoint's health (SPEC §15); figures over the last hour unless named `_24h`."""

    origin = serializers.CharField(help_text="scheme://host:port")
    webhook = serializers.IntegerField(allow_null=True, help_text="The registered webhook with this origin, if any.")
    webhook_name = serializers.CharField(allow_null=True)
    requests_1h = serializers.IntegerField()
    errors_1h = serializers.IntegerField()
    p50_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    requests_24h = serializers.IntegerField()
    errors_24h = serializers.IntegerField()
    p50_24h_ms = serializers.IntegerField(allow_null=True)
    p95_24h_ms = serializers.IntegerField(allow_null=True)
    circuit = serializers.ChoiceField(choices=["closed", "open", "half_open"])
    last_error = serializers.CharField(allow_null=True)
    last_failures = EndpointFailureSerializer(many=True)
    hourly_p95_ms = serializers.ListField(child=serializers.IntegerField(allow_null=True))
