"""Site forms of the account's settings pages: IP whitelist entries and API tokens."""

from django import forms

from .cidr import CIDR_HELP, normalise_cidr
from .models import Account, ApiToken, IpWhitelistEntry


class IpWhitelistEntryForm(forms.ModelForm):
    class Meta:
        model = IpWhitelistEntry
        fields = ["cidr", "label"]
        labels = {"cidr": "Address or network"}
        help_texts = {"cidr": CIDR_HELP, "label": "Optional, e.g. 'Office' or 'CRM server'."}
        widgets = {"cidr": forms.TextInput(attrs={"placeholder": "203.0.113.0/24", "autofocus": True})}

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.instance.account = account

    def clean_cidr(self) -> str:
        try:
            cidr = normalise_cidr(self.cleaned_data["cidr"])
        except ValueError as error:
            raise forms.ValidationError(str(error))
        if IpWhitelistEntry.objects.for_account(self.account).filter(cidr=cidr).exists():
            raise forms.ValidationError(f"{cidr} is already on the whitelist.")
        return cidr

    def validate_unique(self) -> None:
        """clean_cidr already said it more clearly."""


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        help_texts = {"name": "What uses this token, e.g. 'CRM integration'."}
        widgets = {"name": forms.TextInput(attrs={"placeholder": "CRM integration"})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name, so you can tell it apart later.")
        return name
