"""Site forms. The webhook form only gathers values; `validation.clean_webhook` decides, as for the API."""

from django import forms

from phonon.lib.sanitizer import MAX_NOTES_CHARS, NOTES_TOO_LONG, visible_text
from phonon.summernote import NotesEditorWidget

from .models import AuthType, BodyType, Method, Webhook
from .validation import WebhookRejected, clean_webhook, save_webhook


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    method = forms.CharField(initial=Method.POST, widget=forms.Select(choices=[(m, m) for m in Method.values]))
    url = forms.CharField(
        label="URL",
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "https://api.example.com/hook", "inputmode": "url"}),
    )
    auth_type = forms.CharField(
        label="Authentication", initial=AuthType.NONE, widget=forms.Select(choices=AuthType.choices)
    )
    username = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    # Never rendered back: not the stored one, not the one just typed into a form that failed.
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    body_type = forms.CharField(label="Body type", initial=BodyType.NONE, widget=forms.Select(choices=BodyType.choices))
    notes = forms.CharField(
        required=False,
        strip=False,
        widget=NotesEditorWidget(),
        help_text="Text formatting and links only; pictures and videos are not kept.",
    )
    is_default = forms.BooleanField(
        label="Default webhook",
        required=False,
        help_text="The flow end webhook of every flow that has it switched on; one per account.",
    )

    max_notes_chars = MAX_NOTES_CHARS
    notes_too_long = NOTES_TOO_LONG

    def __init__(self, *args, account, instance: Webhook | None = None, **kwargs) -> None:
        self.account = account
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(instance, name) for name in self.base_fields if name != "password"}
        super().__init__(*args, **kwargs)
        if instance is not None and instance.password:
            self.fields["password"].help_text = "A password is stored; leave this blank to keep it."
        self.cleaned_webhook: dict = {}

    @property
    def notes_length(self) -> int:
        """Visible characters of the notes as shown (typed or stored): the counter's first value."""
        return len(visible_text(self["notes"].value() or ""))

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:  # a field is missing or too long: say that first
            return cleaned_data
        try:
            self.cleaned_webhook = clean_webhook(self.account, cleaned_data, instance=self.instance)
        except WebhookRejected as rejected:
            for field, messages in rejected.errors.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned_data

    def save(self, *, request=None) -> Webhook:
        self.instance = save_webhook(self.account, self.cleaned_webhook, instance=self.instance, request=request)
        return self.instance
