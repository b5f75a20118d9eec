"""The site's side of SPEC §14: the designer's JSON endpoints and "Save as test case".

The designer (session + CSRF) reads the history and a revision's diff, publishes, restores and
runs the test cases through these; they answer what the API answers (the same functions in
flows.revisions and flows.test_cases). Every flow is reached through the current account's
queryset, so another account's id is a 404; all but reading are writes (viewers get 403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from rest_framework.exceptions import ValidationError

from accounts.tenancy import AccountRequiredMixin
from flows import revisions
from flows.models import Execution, Flow, FlowRevision
from flows.serializers import CallField, PublishSerializer, UserKeysField
from flows.test_cases import CannotPin, case_from_execution, case_from_widget_answer, clean_responses, run_test_cases
from flows.widgets.cleaning import Errors
from phonon.lib.json_input import JSONInputError, read_json_input

MAX_CASE_NAME = 200


def json_answer(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, encoder=DjangoJSONEncoder)


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object ({} when empty), read by the one reader of JSON bodies."""
    data = read_json_input(request.body or b"{}")
    if not isinstance(data, dict):
        raise JSONInputError("Send a JSON object.")
    return data


def refused_body(error: JSONInputError) -> JsonResponse:
    """The 400 of a JSON body the page's script sent that `read_json_input` refuses, in the
    `{"errors": {dotted path: [sentences]}}` shape the script puts beside the fields."""
    return JsonResponse({"errors": error.errors or {"": [str(error)]}}, status=400)


class FlowJsonView(AccountRequiredMixin, View):
    """A JSON endpoint about one of the current account's flows."""

    def get_flow(self) -> Flow:
        return get_object_or_404(
            Flow.objects.for_account(self.request.account).select_related("published_revision"), pk=self.kwargs["pk"]
        )

    def get_revision(self, flow: Flow, number: int) -> FlowRevision:
        try:
            return flow.revisions.get(number=number)
        except FlowRevision.DoesNotExist:
            raise Http404(f"Flow {flow.pk} has no revision {number}.")

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except JSONInputError as error:
            return refused_body(error)


class RevisionHistoryView(FlowJsonView):
    http_method_names = ["get"]

    def get(self, request, pk: int):
        flow = self.get_flow()
        return json_answer({**revisions.status(flow), "revisions": revisions.history(flow)})


class RevisionDiffView(FlowJsonView):
    http_method_names = ["get"]

    def get(self, request, pk: int, number: int):
        flow = self.get_flow()
        return json_answer(revisions.revision_diff(self.get_revision(flow, number)))


class PublishView(FlowJsonView):
    """POST `{revision?, force?}`: publish (the gate's 409 lists the failing cases)."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        flow = self.get_flow()
        options = PublishSerializer(data=json_body(request))  # the API's judge of the same body
        if not options.is_valid():
            return json_answer({"errors": options.errors}, status=400)
        number, force = options.validated_data.get("revision"), options.validated_data["force"]
        revision = self.get_revision(flow, number or revisions.latest_number(flow))
        try:
            revisions.publish_revision(flow, revision, user=request.user, force=force, request=request)
        except revisions.PublishBlocked as blocked:
            return json_answer({"detail": blocked.sentence("publish anyway"), "failing": blocked.failing}, status=409)
        return json_answer(revisions.status(flow))


class RestoreView(FlowJsonView):
    """POST: revision N's content becomes the draft (a new revision); the designer reloads it."""

    http_method_names = ["post"]

    def post(self, request, pk: int, number: int):
        flow = self.get_flow()
        revisions.restore_revision(self.get_revision(flow, number), user=request.user, request=request)
        return json_answer(revisions.status(flow), status=201)


class RunTestCasesView(FlowJsonView):
    """POST: rehearse every case on the draft (what the designer's "Run tests" shows)."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        return json_answer({"results": run_test_cases(self.get_flow())})


class TestCaseFromWidgetView(FlowJsonView):
    """POST `{name, widget, answer: {status_code, headers, body}, call, user_keys}`: "Save as test case"
    on a widget's test result (the Test button, issue 15). The case expects what the draft does now."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        flow = self.get_flow()
        data = json_body(request)
        errors = Errors()
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_CASE_NAME:
            errors.add("name", f"Give the test case a name of at most {MAX_CASE_NAME} characters.")
        widget_id = data.get("widget")
        if not isinstance(widget_id, str):
            errors.add("widget", 'Name the widget by its id, e.g. "w1".')
        elif widget_id not in {widget["id"] for widget in flow.widgets}:
            errors.add("widget", f"The draft has no widget {widget_id!r}; save the flow first.")
        answers = clean_responses({str(widget_id): data.get("answer")}, errors)
        cleaned = {}
        for key, field in (("call", CallField()), ("user_keys", UserKeysField())):  # the API's judges
            try:
                cleaned[key] = field.run_validation(data.get(key, {}))
            except ValidationError as error:
                detail = error.detail if isinstance(error.detail, dict) else {"": error.detail}
                for name, sentences in detail.items():
                    errors.add(".".join(filter(None, [key, name])), " ".join(map(str, sentences)))
        if errors:
            return json_answer({"errors": errors.by_key}, status=400)
        case = case_from_widget_answer(
            flow, widget_id=widget_id, answer=answers[widget_id], name=name.strip(), **cleaned
        )
        case.save()
        return json_answer({"id": case.pk, "name": case.name, "expect": case.expect}, status=201)


class SaveExecutionAsTestCaseView(AccountRequiredMixin, View):
    """POST `name`: a test case of the execution's flow that replays this call and expects what happened."""

    http_method_names = ["post"]

    def post(self, request, pk):
        execution = get_object_or_404(Execution.objects.for_account(request.account), pk=pk)
        if not execution.is_finished:
            messages.error(request, "The execution is still running; save it as a test case when it has finished.")
            return redirect("flows:execution-detail", pk=execution.pk)
        name = (request.POST.get("name") or "").strip()[
            :MAX_CASE_NAME
        ] or f"Call of {execution.created_at:%Y-%m-%d %H:%M}"
        try:
            case = case_from_execution(execution, name=name)
        except CannotPin as error:
            messages.error(request, f"Not saved: {error}")
            return redirect("flows:execution-detail", pk=execution.pk)
        case.save()
        messages.success(request, f"Saved as test case “{case.name}”: the designer's Run tests replays it.")
        return redirect("flows:execution-detail", pk=execution.pk)
