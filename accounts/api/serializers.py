"""The account, its IP whitelist entries, members and audit log as the API shows and accepts them."""

from rest_framework import serializers

from accounts.api.strict import StrictFieldsMixin
from accounts.cidr import normalise_cidr
from accounts.models import Account, AuditEntry, IpWhitelistEntry, Membership, Role


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["slug", "name", "http_support_enabled"]
        read_only_fields = fields


class IpWhitelistEntrySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = IpWhitelistEntry
        fields = ["id", "cidr", "label"]
        # The (account, cidr) uniqueness is checked in validate_cidr with a message that says why.
        validators: list = []

    def validate_cidr(self, value: str) -> str:
        try:
            cidr = normalise_cidr(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error))
        account = self.context["account"]
        if IpWhitelistEntry.objects.for_account(account).filter(cidr=cidr).exists():
            raise serializers.ValidationError(f"{cidr} is already on the whitelist.")
        return cidr


class MemberSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A member (`active`) or a pending invitation (`pending`, no username yet)."""

    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    email = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=["active", "pending"], read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "status"]
        read_only_fields = ["id", "username", "email", "status"]

    def get_email(self, membership: Membership) -> str:
        return membership.user.email if membership.user else membership.email


class InviteSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["time", "actor", "action", "object_type", "object_id", "object_repr", "changed_fields", "address"]
        read_only_fields = fields
