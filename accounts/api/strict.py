"""Write bodies are taken as the schema describes them, or refused with a 400 naming the field.

DRF ignores fields a serializer does not declare, so `{"flow": 5, "cli": "+1555"}` queued a
call with an empty CLI; and it coerces JSON types (`0` for a text field, `"yes"` or `1` for a
boolean). `StrictFieldsMixin` refuses both: an unknown field is named with the fields the
endpoint takes, a value of the wrong JSON type is named with the type it needs. Read-only
fields stay allowed (and ignored), so what GET answers can be PUT back. The schema says the
same (`additionalProperties: false`, see `accounts.api.schema`).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# (field class, the JSON type it takes, how to ask for it); the first match wins.
JSON_TYPES = (
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.IntegerField, (int,), "a whole number"),
    (serializers.PrimaryKeyRelatedField, (int,), "an id (a whole number)"),
    (serializers.CharField, (str,), "text (a JSON string)"),
)


def json_type_problem(field: serializers.Field, value: Any) -> str | None:
    """Why `value` is not of the JSON type `field` takes, or None when it is."""
    if value is None:
        return None  # the field's own allow_null rule answers
    for field_class, types, wanted in JSON_TYPES:
        if isinstance(field, field_class):
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                return f"Give {wanted}."
            return None
    return None


class StrictFieldsMixin:
    """Put first in a Serializer's bases; override `unknown_field_hint` to suggest where a field belongs."""

    refuses_unknown_fields = True  # read by the schema (accounts.api.schema)

    def to_internal_value(self, data: Any) -> Any:
        self.check_fields(data)
        return super().to_internal_value(data)

    def check_fields(self, data: Any) -> None:
        """The 400 for unknown fields and wrong JSON types alone: called on its own where another
        judge (a Django form) validates the body this serializer describes."""
        if not isinstance(data, dict):
            return
        writable = ", ".join(name for name, field in self.fields.items() if not field.read_only)
        takes = f"Send only: {writable}." if writable else "This action takes no fields: send {} or no body."
        errors = {}
        for name, value in data.items():
            field = self.fields.get(name)
            if field is None:
                errors[name] = [" ".join(filter(None, ["Unknown field.", self.unknown_field_hint(name), takes]))]
            elif not field.read_only and (problem := json_type_problem(field, value)):
                errors[name] = [problem]
        if errors:
            raise serializers.ValidationError(errors)

    def unknown_field_hint(self, name: str) -> str:
        """A sentence saying where an unknown field belongs, or ''."""
        return ""


class NoFieldsSerializer(StrictFieldsMixin, serializers.Serializer):
    """The body of an action that takes none (rotate a secret, replay one delivery)."""


def refuse_fields(data: Any) -> None:
    """A field sent to an action that takes none is refused by name: ignored, it would look accepted."""
    NoFieldsSerializer(data=data).is_valid(raise_exception=True)
