"""Site forms of the account's settings pages: IP whitelist, API tokens, members, audit log."""

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.db.models import QuerySet

from .audit import OBJECT_TYPES
from .cidr import CIDR_HELP, normalise_cidr
from .models import Account, ApiToken, AuditEntry, IpWhitelistEntry, Role


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


class InviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"placeholder": "colleague@example.com"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InvitationSignupForm(UserCreationForm):
    """A new user's login, made from an invitation: the address is the invited one."""

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.email = email  # the password validators compare against it too


class AuditLogFilterForm(forms.Form):
    """`?actor=&object_type=&date=` for the audit log page and `GET /api/v1/audit-log/`."""

    actor = forms.CharField(required=False, max_length=160, help_text="A username, or token:<prefix>.")
    object_type = forms.ChoiceField(
        required=False, choices=[("", "any"), *((name, name) for name in OBJECT_TYPES.values())]
    )
    date = forms.DateField(required=False, help_text="A day, YYYY-MM-DD (UTC).")

    def filter(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        data = self.cleaned_data
        if data.get("actor"):
            entries = entries.filter(actor=data["actor"].strip())
        if data.get("object_type"):
            entries = entries.filter(object_type=data["object_type"])
        if data.get("date"):
            entries = entries.filter(time__date=data["date"])
        return entries
