"""The flow designer: the canvas page and the JSON endpoint it saves to.

The page is rendered with everything the script needs (the flow in the SPEC §6 wire format,
passwords hidden, its layout, the internal-function catalogue) as JSON in the page, so it
needs no API token. Saving posts the same wire format plus `layout` back to the page's own
URL with the session and CSRF token; `validate_flow` is the one judge of what is valid, and
its errors come back keyed by dotted path for the script to put beside each field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django_summernote.widgets import SummernoteInplaceWidget

from accounts import audit
from accounts.api.errors import NOT_FOUND
from accounts.tenancy import AccountRequiredMixin, require_write
from flows import revisions
from flows.models import Execution, Flow
from flows.revision_views import refused_body
from flows.revisions import save_revision
from flows.trial import TooManyTests, WidgetNotFound, run_widget_test
from flows.validation import LINES, MAX_LABEL_LENGTH, FlowValidationError, public_widgets, validate_flow
from flows.variables import (
    ERROR_REASON,
    FAILED,
    RESPONSE_DURATION,
    RESPONSE_ERROR,
    RESPONSE_RAW,
    RESPONSE_STATUS,
    RESPONSE_STATUS_CODE,
    RESPONSE_STATUS_TYPE,
    SUCCESS,
    ErrorReason,
    initial_variables,
)
from flows.variables import (
    OUTPUT_VARIABLES as OUTPUT_VARIABLE_NAMES,
)
from flows.widgets.webhook_config import (
    CUSTOM_KEYS,
    DEFAULTS,
    INTERNAL_KEYS,
    MASK,
    MAX_CACHE_TTL,
    MAX_RETRIES,
    METHODS,
    RETRY_ON,
)
from phonon.lib.extraction import JSON_ROOT_PATTERN
from phonon.lib.json_input import JSONInputError, read_json_input
from phonon.lib.sanitizer import MAX_NOTES_CHARS, NOTES_TOO_LONG
from phonon.lib.templating import VARIABLE_RE
from webhooks import internal_functions
from webhooks.endpoints import open_circuit_origins
from webhooks.models import Webhook

# SPEC §6's output variables, shown in the webhook form's collapsible panels:
# (variable, value on success, value on failure).
OUTPUT_VARIABLES = (
    (RESPONSE_STATUS, SUCCESS, FAILED),
    (RESPONSE_STATUS_CODE, "e.g. 200", "the code, or null when no answer"),
    (RESPONSE_STATUS_TYPE, "Success", "Informational / Redirection / Client Error / Server Error / null"),
    (RESPONSE_DURATION, "seconds, two decimals, e.g. 0.11", "same"),
    (RESPONSE_RAW, "raw body, null if empty", "same"),
    (RESPONSE_ERROR, "false", "true"),
    (ERROR_REASON, "null", ", ".join(ErrorReason.ALL)),
)
OUTCOMES = (
    {"name": "success", "line": 0, "rows": [(variable, success) for variable, success, _ in OUTPUT_VARIABLES]},
    {"name": "failure", "line": 1, "rows": [(variable, failure) for variable, _, failure in OUTPUT_VARIABLES]},
)


class NotesForm(forms.Form):
    """Only renders the notes editor; the designer copies its HTML into the widget's config."""

    notes = forms.CharField(required=False, label="Notes", widget=SummernoteInplaceWidget())


def internal_function_catalogue() -> list[dict[str, Any]]:
    """The internal functions as the API's catalogue lists them: [{name, description, methods, variable}]."""
    return [function.as_catalogue_entry() for function in internal_functions.INTERNAL_FUNCTIONS.values()]


def clean_layout(layout: Any, widget_ids: set[str]) -> dict[str, dict[str, float]]:
    """Box positions of the widgets that exist; anything else in `layout` is dropped."""
    if not isinstance(layout, dict):
        return {}
    cleaned = {}
    for widget_id, position in layout.items():
        if widget_id not in widget_ids or not isinstance(position, dict):
            continue
        x, y = position.get("x"), position.get("y")
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            cleaned[widget_id] = {"x": round(float(x), 1), "y": round(float(y), 1)}
    return cleaned


def sample_variables(flow: Flow | None) -> dict[str, str | None]:
    """The variables of the flow's last execution, to prefill a widget test's sample values."""
    if flow is None:
        return {}
    execution = Execution.objects.for_account(flow.account).filter(flow=flow).order_by("-created_at").first()
    if execution is None:
        return {}
    return {**initial_variables(execution.call or {}, execution.user_keys or {}), **(execution.variables or {})}


def flow_for_page(flow: Flow | None) -> dict[str, Any]:
    """What the script starts from: the wire format (passwords hidden) and the layout."""
    if flow is None:
        return {"id": None, "name": "", "flow_end_webhook": False, "start": "", "widgets": [], "layout": {}}
    return {
        "id": flow.pk,
        "name": flow.name,
        "flow_end_webhook": flow.flow_end_webhook,
        "start": flow.start,
        "widgets": public_widgets(flow.widgets),
        "layout": flow.layout or {},
    }


def revision_urls(flow: Flow | None) -> dict[str, Any]:
    """Where revisions.js reads and writes, with 0 standing for the flow id (and the revision number),
    since a new flow gets its id at its first save; and the flow's Draft / Published status."""
    return {
        "history": reverse("flows:revisions", args=[0]),
        "diff": reverse("flows:revision-diff", args=[0, 0]),
        "restore": reverse("flows:revision-restore", args=[0, 0]),
        "publish": reverse("flows:publish", args=[0]),
        "runTests": reverse("flows:test-cases-run", args=[0]),
        "fromWidgetTest": reverse("flows:test-case-from-widget", args=[0]),
        "status": revisions.status(flow) if flow else None,
    }


def registered_webhooks(account) -> list[dict[str, str]]:
    """Advanced → Webhook entries offered in the URL field: picking one brings its request settings.

    The password stays on the webhook (it is never sent to a browser); the form asks for it.
    """
    return [
        {
            "name": webhook.name,
            "url": webhook.url,
            "method": webhook.method,
            "auth_type": webhook.auth_type,
            "username": webhook.username,
            "body_type": webhook.body_type,
        }
        for webhook in Webhook.objects.for_account(account).only(
            "name", "url", "method", "auth_type", "username", "body_type"
        )
    ]


class FlowDesignerView(AccountRequiredMixin, View):
    """GET renders the designer (read-only for viewers); POST (JSON) validates and saves.

    A new flow's page is a write's first step, so viewers get 403 there; on a saved flow they
    see the diagram and every form, read-only, and posting is a write (403).
    """

    def get_flow(self) -> Flow | None:
        pk = self.kwargs.get("pk")
        if pk is None:
            return None
        return get_object_or_404(Flow.objects.for_account(self.request.account), pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        if pk is None:
            require_write(request)
        flow = self.get_flow()
        read_only = not request.membership.can_write
        context = {
            "read_only": read_only,
            "flow": flow,
            "designer_config": {
                "flow": flow_for_page(flow),
                "saveUrl": request.path,
                "internalFunctions": internal_function_catalogue(),
                "httpSupport": request.account.http_support_enabled,
                "maxNotesChars": MAX_NOTES_CHARS,
                "notesTooLong": NOTES_TOO_LONG,
                "readOnly": read_only,
                # Advanced → Webhook entries, offered in the URL field ("select the URL" in the original).
                "registeredWebhooks": [] if read_only else registered_webhooks(request.account),
                # What the script must agree on with validate_flow, read from where it is defined.
                "lines": LINES,
                "webhookKeys": {"custom": sorted(CUSTOM_KEYS), "internal": sorted(INTERNAL_KEYS)},
                "revisions": revision_urls(flow),
                # Testing a widget (SPEC §13): where to send it, the values to start from, and the
                # rules the script needs to list a widget's variables and propose mapping names.
                "testUrl": reverse("flows:test-widget"),
                "sampleVariables": sample_variables(flow),
                "variablePattern": VARIABLE_RE.pattern.replace("(?P<", "(?<"),
                "jsonRootPattern": JSON_ROOT_PATTERN,
                "outputVariables": list(OUTPUT_VARIABLE_NAMES),
                "mask": MASK,
                # The Resilience section (SPEC §15): its defaults and limits, and the origins whose
                # circuit is open now, so the designer warns on widgets calling them.
                "resilienceDefaults": {key: DEFAULTS[key] for key in ("retries", "idempotency_key", "cache")},
                "openCircuits": open_circuit_origins(request.account),
            },
            "notes_form": NotesForm(),
            "max_label_length": MAX_LABEL_LENGTH,
            "methods": METHODS,
            "outcomes": OUTCOMES,
            "retry_on": RETRY_ON,
            "max_retries": MAX_RETRIES,
            "max_cache_ttl": MAX_CACHE_TTL,
        }
        return render(request, "flows/designer.html", context)

    def post(self, request: HttpRequest, pk: int | None = None) -> JsonResponse:
        flow = self.get_flow()
        try:
            data = read_json_input(request.body or b"null")
        except JSONInputError as error:
            return refused_body(error)
        if not isinstance(data, dict):
            return JsonResponse({"errors": {"": ["Send the flow as a JSON object."]}}, status=400)
        submitted = {key: data[key] for key in revisions.CONTENT_FIELDS if key in data}
        try:
            # With the stored widgets, a basic-auth password left blank keeps its saved value.
            cleaned = validate_flow(submitted, account=request.account, previous=flow.widgets if flow else None)
        except FlowValidationError as error:
            return JsonResponse({"errors": error.errors}, status=400)
        widget_ids = {widget["id"] for widget in cleaned["widgets"]}
        layout = clean_layout(data.get("layout"), widget_ids)
        created = flow is None
        with transaction.atomic():
            before = None if created else audit.snapshot(flow)
            # A new flow is published at once (revision 1); every later save is a draft.
            flow = save_revision(
                flow, cleaned, account=request.account, user=request.user, layout=layout, request=request
            ).flow
            if created:
                audit.record(request, audit.CREATED, flow)
            else:
                audit.record_change(request, flow, before)
        return JsonResponse(
            {
                "id": flow.pk,
                "designer_url": reverse("flows:designer", args=[flow.pk]),
                "flow": flow_for_page(flow),
                "status": revisions.status(flow),
            },
            status=201 if created else 200,
        )


class WidgetTestView(AccountRequiredMixin, View):
    """The designer's Test button: `flows.trial.run_widget_test` with the session, answered as the
    API answers it (400 field errors under `errors`, as saving does; 404; 429 with Retry-After)."""

    write_required = True

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            data = read_json_input(request.body or b"null")
        except JSONInputError as error:
            return refused_body(error)
        try:
            return JsonResponse(run_widget_test(data, account=request.account))
        except FlowValidationError as error:
            return JsonResponse({"errors": error.errors}, status=400)
        except WidgetNotFound:
            return JsonResponse({"detail": NOT_FOUND}, status=404)
        except TooManyTests as error:
            response = JsonResponse({"detail": str(error)}, status=429)
            response["Retry-After"] = str(error.wait)
            return response
