"""django-summernote, configured for this product: text-only notes, local files, no uploads.

Listed in INSTALLED_APPS instead of `django_summernote` (see DEPENDENCIES.md):

- `default_auto_field` matches the package's own migrations, so `makemigrations` never wants
  to write into site-packages;
- the theme is Summernote's `lite` build, which needs jQuery but not Bootstrap; the package's
  `lite` theme names a CSS file it does not ship, so the file list is set here, pointing at
  the shipped `summernote-lite.min.css` and at the vendored jQuery instead of a CDN;
- the toolbar has no picture or video button and attachments are disabled. The widget still
  reverses `django_summernote-upload_attachment`, so `urlpatterns` below answers that name
  with 403 (include this module under `summernote/`).

What the editor produces is sanitised on the server anyway (`phonon.lib.sanitizer`).
"""

from django import forms
from django.http import HttpRequest, HttpResponseForbidden
from django.urls import path
from django_summernote.apps import DjangoSummernoteConfig
from django_summernote.widgets import SummernoteInplaceWidget

JQUERY = "vendor/jquery-3.8.0/jquery.min.js"
NOTES_EDITOR_JS = "notes/notes_editor.js"

NOTES_TOOLBAR = [
    ["style", ["style"]],
    ["font", ["bold", "italic", "underline", "strikethrough", "superscript", "subscript", "clear"]],
    ["color", ["color"]],
    ["para", ["ul", "ol", "paragraph"]],
    ["insert", ["link", "hr"]],
    ["view", ["codeview"]],
]


class PhononSummernoteConfig(DjangoSummernoteConfig):
    default_auto_field = "django.db.models.AutoField"

    def update_config(self) -> None:
        super().update_config()
        self.theme = "lite"
        self.config.update(
            {
                "iframe": False,
                "disable_attachment": True,
                "base_css": (),
                "base_js": (JQUERY,),
                "default_css": ("summernote/summernote-lite.min.css", "summernote/django_summernote.css"),
                "default_js": ("summernote/summernote-lite.min.js",),
                "css": (),
                "js": (),
            }
        )
        self.config["summernote"] = {
            **self.config["summernote"],
            "width": "100%",
            "height": 160,
            "toolbar": NOTES_TOOLBAR,
            "disableDragAndDrop": True,
        }


class NotesEditorWidget(SummernoteInplaceWidget):
    """The notes editor of a site form: the in-place widget, plus what it needs on the page.

    Its media put the vendored jQuery first (the widget's set-up script expects it) and end with
    `notes/notes_editor.js`, the live "N / 1000" counter every notes editor shares. Render
    `{{ form.media }}` in `<head>`: the widget runs its set-up script where it is rendered.
    """

    @property
    def media(self) -> forms.Media:
        return forms.Media(js=(JQUERY,)) + super().media + forms.Media(js=(NOTES_EDITOR_JS,))


def refuse_upload(request: HttpRequest) -> HttpResponseForbidden:
    """Notes are text only: there is nothing to upload."""
    return HttpResponseForbidden("Attachments are disabled: notes hold text formatting only.")


urlpatterns = [path("upload_attachment/", refuse_upload, name="django_summernote-upload_attachment")]
