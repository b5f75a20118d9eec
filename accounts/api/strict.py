"""Write bodies name only fields the API knows: an unknown field is a 400, never silently dropped.

DRF ignores fields a serializer does not declare, so `{"flow": 5, "cli": "+1555"}` queued a
call with an empty CLI. `StrictFieldsMixin` refuses such fields, naming each one and the fields
the endpoint takes; read-only fields stay allowed (and ignored), so what GET answers can be PUT
back. The schema says the same (`additionalProperties: false`, see `accounts.api.schema`).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictFieldsMixin:
    """Put first in a Serializer's bases; override `unknown_field_hint` to suggest where a field belongs."""

    refuses_unknown_fields = True  # read by the schema (accounts.api.schema)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                writable = ", ".join(name for name, field in self.fields.items() if not field.read_only)
                raise serializers.ValidationError(
                    {
                        name: [
                            " ".join(
                                filter(
                                    None, ["Unknown field.", self.unknown_field_hint(name), f"Send only: {writable}."]
                                )
                            )
                        ]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)

    def unknown_field_hint(self, name: str) -> str:
        """A sentence saying where an unknown field belongs, or ''."""
        return ""
