"""Site forms for the account's numbers."""

from django import forms

from .models import BlockedCaller, DirectDialNumber, normalise_number, number_variants


class AccountNumberForm(forms.ModelForm):
    """A number of the account: stored normalised, once per account whichever way it is spelt."""

    number_kind: str  # how the duplicate message names it: "a <number_kind> of this account"

    def __init__(self, *args, account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.account = account

    def clean_number(self) -> str:
        number = normalise_number(self.cleaned_data["number"])
        digits = number.lstrip("+")
        if not 3 <= len(digits) <= 20:
            raise forms.ValidationError("Number: enter 3 to 20 digits, with an optional leading +, e.g. +911234567890.")
        numbers = self._meta.model.objects.for_account(self.instance.account)
        if numbers.filter(number__in=number_variants(number)).exists():
            raise forms.ValidationError(f"Number: {number} is already a {self.number_kind} of this account.")
        return number


class DirectDialNumberForm(AccountNumberForm):
    number_kind = "Direct Dial number"

    class Meta:
        model = DirectDialNumber
        fields = ["number", "label"]


class BlockedCallerForm(AccountNumberForm):
    number_kind = "blocked caller"

    class Meta:
        model = BlockedCaller
        fields = ["number", "reason"]
