"""Site pages: flows list, a flow's read-only page, "Start a call", executions list and detail.

Every object is reached through the current account's queryset (accounts.tenancy), so another
account's id is a 404; starting a call is a write, so viewers get 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, OuterRef, Subquery
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView, View

from accounts.tenancy import AccountObjectDeleteView, AccountObjectMixin, AccountRequiredMixin
from flows import deliveries, delivery_health, delivery_log, revisions
from flows.delivery_log import DeliveryFilterForm, ReplayForm
from flows.forms import ExecutionFilterForm, StartCallForm
from flows.models import Delivery, Execution, Flow, FlowRevision
from flows.serializers import ExecutionCreateSerializer, flow_wire_format
from flows.variables import initial_variables
from phonon.downloads import csv_attachment
from phonon.lib.sanitizer import sanitize_notes
from webhooks.models import Webhook
from webhooks.reachability import check_problem, check_webhook_url

EXECUTIONS_PER_PAGE = 50
DELIVERIES_PER_PAGE = 50


class FlowListView(AccountObjectMixin, ListView):
    model = Flow
    template_name = "flows/flow_list.html"
    context_object_name = "flows"

    def get_queryset(self):
        latest = FlowRevision.objects.filter(flow=OuterRef("pk")).order_by("-number").values("number")[:1]
        return (
            super()
            .get_queryset()
            .annotate(
                execution_count=Count("executions"),
                last_execution_at=Max("executions__created_at"),
                # The list marks a saved draft not yet published (calls run the published one).
                latest_revision=Subquery(latest),
                published_number=F("published_revision__number"),
            )
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(start_call_form=StartCallForm(), **kwargs)


class FlowDetailView(AccountObjectMixin, DetailView):
    """Read-only: the widgets in the order a call meets them, and a form to start a call."""

    model = Flow
    template_name = "flows/flow_detail.html"
    context_object_name = "flow"

    def get_context_data(self, **kwargs):
        flow = self.object
        wire = flow_wire_format(flow)
        return super().get_context_data(
            widgets=[with_sanitised_notes(widget) for widget in widgets_in_walk_order(wire["widgets"], flow.start)],
            wire_format=wire,
            revision_status=revisions.status(flow),
            start_call_form=StartCallForm(),
            recent_executions=flow.executions.all()[:10],
            # Its flow-end deliveries go to the default webhook: say so when they are failing or disabled.
            default_webhook=Webhook.objects.for_account(flow.account_id).filter(is_default=True).first(),
            **kwargs,
        )


def with_sanitised_notes(widget: dict) -> dict:
    """The widget with its notes sanitised again for the page, which renders them as HTML.

    Saving sanitises them already; this keeps a flow stored another way (an import, a row saved
    under older rules) from putting script on the page.
    """
    config = widget.get("config") or {}
    if not config.get("notes"):
        return widget
    return {**widget, "config": {**config, "notes": sanitize_notes(config["notes"])}}


def widgets_in_walk_order(widgets: list[dict], start: str) -> list[dict]:
    """Breadth-first from the start along line 0, then line 1, end widgets last: how a reader follows a flow."""
    by_id = {widget["id"]: widget for widget in widgets}
    ordered, queue, seen = [], [start], set()
    while queue:
        widget_id = queue.pop(0)
        if widget_id in seen or widget_id not in by_id:
            continue
        seen.add(widget_id)
        widget = by_id[widget_id]
        ordered.append(widget)
        queue.extend(target for _, target in sorted((widget.get("next") or {}).items()))
    ordered += [widget for widget in widgets if widget["id"] not in seen]
    return sorted(ordered, key=lambda widget: widget["type"] == "end")  # end widgets last


class FlowDeleteView(AccountObjectDeleteView):
    """Deleting a flow deletes its executions and report rows too: the page says how many."""

    model = Flow
    success_url = reverse_lazy("flows:list")
    success_message = "Flow “{object.name}” deleted, with its executions."

    def get_context_data(self, **kwargs):
        return super().get_context_data(execution_count=self.object.executions.count(), **kwargs)


class StartCallView(AccountRequiredMixin, View):
    """POST cli/did (and user keys): queue an execution, then show it."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        flow = get_object_or_404(Flow.objects.for_account(request.account), pk=pk)
        form = StartCallForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(
                    request, f"{form.fields[field].label if field in form.fields else field}: {' '.join(errors)}"
                )
            return redirect("flows:detail", pk=flow.pk)
        data = form.cleaned_data
        serializer = ExecutionCreateSerializer(
            data={
                "flow": flow.pk,
                # The call starts now; its end is the flow's (flows.deliveries.call_times).
                "call": {
                    "cli": data["cli"],
                    "did": data["did"],
                    "incoming": True,
                    "start": timezone.now().isoformat(timespec="seconds"),
                },
                "user_keys": data["user_keys"],
            },
            context={"account": request.account},
        )
        if not serializer.is_valid():
            for field, errors in serializer.errors.items():
                messages.error(request, f"{field}: {' '.join(map(str, errors))}")
            return redirect("flows:detail", pk=flow.pk)
        execution = serializer.save()
        messages.success(request, f"Call started: execution {execution.pk} is waiting for a worker.")
        return redirect("flows:execution-detail", pk=execution.pk)


class ExecutionListView(AccountObjectMixin, ListView):
    model = Execution
    template_name = "flows/execution_list.html"
    context_object_name = "executions"
    paginate_by = EXECUTIONS_PER_PAGE

    def get_queryset(self):
        executions = (
            super().get_queryset().select_related("flow").defer("steps", "variables", "user_keys", "recordings")
        )
        self.filters = ExecutionFilterForm(self.request.GET or None, account=self.request.account)
        if self.filters.is_bound and self.filters.is_valid():
            executions = self.filters.filter(executions)
        return executions

    def get_context_data(self, **kwargs):
        return super().get_context_data(filters=self.filters, **kwargs)


class ExecutionDetailView(AccountObjectMixin, DetailView):
    model = Execution
    template_name = "flows/execution_detail.html"
    context_object_name = "execution"

    def get_queryset(self):
        return super().get_queryset().select_related("flow", "revision")

    def get_context_data(self, **kwargs):
        execution = self.object
        variables = sorted((execution.variables or {}).items())
        delivery = deliveries.describe_delivery(execution)
        labels = {widget["id"]: widget.get("label", "") for widget in execution.revision.widgets}
        return super().get_context_data(
            # Each step with its widget's label in the revision the call ran.
            steps=[{**step, "label": labels.get(step.get("widget"), "")} for step in execution.steps or []],
            # The call as the flow saw it: "$call.incoming" = "true", user keys spelt as sent.
            call_variables=initial_variables(execution.call or {}, execution.user_keys or {}).items(),
            variables=variables,
            persisted=set(execution.persisted_variables or []),
            delivery=delivery,
            delivery_replay_url=reverse("flows:delivery-replay", args=[delivery["id"]]) if delivery else None,
            max_attempts=settings.WORKER_MAX_ATTEMPTS,
            **kwargs,
        )


class DeliveryListView(AccountRequiredMixin, TemplateView):
    """The deliveries log: filters, 50 a page, CSV, and "Replay N …" for the current filter."""

    template_name = "flows/delivery_list.html"

    def get(self, request, *args, **kwargs):
        filters = DeliveryFilterForm(request.GET, account=request.account)
        valid = filters.is_valid()
        deliveries = filters.deliveries() if valid else Delivery.objects.none()
        if valid and request.GET.get("format") == "csv":
            return csv_attachment(delivery_log.csv_lines(deliveries), f"deliveries-{request.account.slug}")
        page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
        replay = ReplayForm(request.GET, account=request.account) if valid else None
        replay_count = replay.deliveries().count() if replay is not None and replay.is_valid() else None
        return self.render_to_response(
            self.get_context_data(
                filters=filters,
                page_obj=page,
                records=[delivery_log.as_record(delivery) for delivery in page],
                replay=replay,
                replay_count=replay_count,
                replay_rate=f"{settings.DELIVERY_REPLAY_PER_SECOND:g}",
                filtered=bool(request.GET.dict().keys() - {"page"}),
            )
        )


class DeliveryBulkReplayView(AccountRequiredMixin, View):
    """The page's "Replay N … deliveries" button: the current filter, queued at the replay rate."""

    http_method_names = ["post"]

    def post(self, request):
        replay = ReplayForm(request.POST, account=request.account)
        if not replay.is_valid():
            for errors in replay.errors.values():
                messages.error(request, " ".join(errors))
        else:
            queued = deliveries.replay_deliveries(request.account.pk, replay.deliveries())
            messages.success(
                request,
                f"{queued} deliveries queued again, sent at {settings.DELIVERY_REPLAY_PER_SECOND:g} a second.",
            )
        query = QueryDict(mutable=True)
        query.update({key: value for key, value in request.POST.items() if key in replay.fields and value})
        return redirect(f"{reverse('flows:delivery-list')}?{query.urlencode()}")


class WebhookEnableDeliveriesView(AccountRequiredMixin, View):
    """ "Check and re-enable" on a disabled webhook: a passing check sends flow-end deliveries
    again, and the page offers to replay the ones skipped meanwhile."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        webhook = get_object_or_404(Webhook.objects.for_account(request.account), pk=pk)
        check = check_webhook_url(request.account, webhook.url)
        problem = check_problem(check)
        if problem:
            messages.error(
                request, f"The check did not pass, so flow-end deliveries to “{webhook.name}” stay disabled: {problem}"
            )
            return redirect("webhooks:edit", pk=webhook.pk)
        skipped = delivery_health.reenable(webhook)
        if check.warning:  # a 4xx passes, amber: say what it answered, never "green"
            messages.warning(
                request,
                f"“{webhook.name}” is reachable, with a warning: {check.warning} Flow-end deliveries are sent to "
                f"it again; if every one fails for {settings.DELIVERY_DISABLE_AFTER_DAYS:g} days, it is disabled "
                "again.",
            )
        else:
            messages.success(request, f"“{webhook.name}” checks green: flow-end deliveries are sent to it again.")
        return render(request, "flows/webhook_enabled.html", {"webhook": webhook, "skipped": skipped})


class WebhookReplaySkippedView(AccountRequiredMixin, View):
    """Replay every delivery skipped while the webhook was disabled, at the replay rate."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        webhook = get_object_or_404(Webhook.objects.for_account(request.account), pk=pk)
        queued = deliveries.replay_deliveries(request.account.pk, delivery_health.skipped_deliveries(webhook))
        messages.success(
            request, f"{queued} skipped deliveries queued, sent at {settings.DELIVERY_REPLAY_PER_SECOND:g} a second."
        )
        return redirect(f"{reverse('flows:delivery-list')}?webhook={webhook.pk}")


class DeliveryReplayView(AccountRequiredMixin, View):
    """The Replay button: send a flow-end delivery again (a new attempt, the same webhook-id)."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        delivery = get_object_or_404(Delivery.objects.for_account(request.account), pk=pk)
        deliveries.replay_delivery(delivery)
        messages.success(request, "The flow end webhook is queued to be sent again.")
        return redirect("flows:execution-detail", pk=delivery.execution_id)
