"""The account and its IP whitelist entries as the API shows and accepts them."""

from rest_framework import serializers

from accounts.api.strict import StrictFieldsMixin
from accounts.cidr import normalise_cidr
from accounts.models import Account, IpWhitelistEntry


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
