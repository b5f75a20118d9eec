"""Site pages: Advanced → Webhook.

Every object is reached through the current account's queryset (`accounts.tenancy`), so
another account's id answers 404 like a missing one; viewers get 403 on every write.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.safestring import SafeString, mark_safe
from django.views import View
from django.views.generic import DetailView, ListView

from accounts import audit
from accounts.tenancy import AccountObjectDeleteView, AccountObjectMixin, AccountRequiredMixin, PostOnlyObjectView
from phonon.lib.sanitizer import sanitize_notes

from .default_webhook import set_default
from .endpoints import endpoint_health
from .forms import WebhookForm
from .models import Webhook
from .reachability import check_answer, check_webhook_url

FORM_TEMPLATE = "webhooks/webhook_form.html"


class WebhookListView(AccountObjectMixin, ListView):
    model = Webhook
    template_name = "webhooks/webhook_list.html"
    context_object_name = "webhooks"

    def get_context_data(self, **kwargs) -> dict:
        """The page also shows each endpoint's health (SPEC §15), with a bar per hour of p95 latency."""
        health = endpoint_health(self.request.account, self.object_list)  # the page's webhooks, read once
        for row in health:
            peak = max((value for value in row["hourly_p95_ms"] if value is not None), default=0)
            row["bars"] = [
                {"percent": round(100 * value / peak) if value and peak else 0, "value": value}
                for value in row["hourly_p95_ms"]
            ]
        return {**super().get_context_data(**kwargs), "health": health}


class WebhookDetailView(AccountObjectMixin, DetailView):
    """A webhook read-only, for every member: viewers cannot open the edit form (a write's first step)."""

    model = Webhook
    template_name = "webhooks/webhook_detail.html"
    context_object_name = "webhook"

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(**kwargs) | {"notes_html": self.notes_html()}

    def notes_html(self) -> SafeString:
        # Notes are stored sanitised; cleaning again (idempotent) keeps the page safe whatever the row holds.
        return mark_safe(sanitize_notes(self.object.notes))  # noqa: S308 - the one sanitiser's output

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """Another account's id is a 404 whatever the method, as on the other webhook routes."""
        self.get_object()
        return super().http_method_not_allowed(request, *args, **kwargs)


class WebhookFormView(AccountRequiredMixin, View):
    """Add (no pk) or edit a webhook; the form keeps what was typed when a rule refuses it."""

    write_required = True

    def get_instance(self) -> Webhook | None:
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(Webhook.objects.for_account(self.request.account), pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_instance()
        return self.render(WebhookForm(account=request.account, instance=instance), instance)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_instance()
        before = audit.snapshot(instance) if instance else None
        form = WebhookForm(request.POST, account=request.account, instance=instance)
        if not form.is_valid():
            return self.render(form, instance, status=400)
        webhook = form.save(request=request)
        if before is None:
            audit.record(request, audit.CREATED, webhook)
        else:
            audit.record_change(request, webhook, before)
        messages.success(request, f"Webhook “{webhook.name}” saved.")
        return redirect("webhooks:list")

    def render(self, form: WebhookForm, instance: Webhook | None, status: int = 200) -> HttpResponse:
        context = {"form": form, "webhook": instance, "check_url": reverse("webhooks:check")}
        return render(self.request, FORM_TEMPLATE, context, status=status)


class WebhookDeleteView(AccountObjectDeleteView):
    model = Webhook
    success_url = reverse_lazy("webhooks:list")
    success_message = "Webhook “{object.name}” deleted."


class WebhookSetDefaultView(PostOnlyObjectView):
    model = Webhook

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        webhook = self.get_object()
        if not webhook.is_default:
            set_default(webhook, request=request)
            audit.record(request, audit.CHANGED, webhook, changed=["is_default"])
        messages.success(request, f"“{webhook.name}” is now the default webhook.")
        return redirect("webhooks:list")


class WebhookRotateSecretView(PostOnlyObjectView):
    model = Webhook

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        webhook = self.get_object()
        webhook.rotate_signing_secret()
        audit.record(request, audit.ROTATED, webhook, changed=["signing_secret"])
        messages.success(
            request,
            "New signing secret created. Deliveries carry both signatures until the overlap ends: "
            "switch your receiver to the new secret meanwhile.",
        )
        return redirect("webhooks:edit", pk=webhook.pk)


class WebhookEndSecretOverlapView(PostOnlyObjectView):
    model = Webhook

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.get_object().end_secret_overlap()
        messages.success(request, "Deliveries are now signed with the new secret only.")
        return redirect("webhooks:edit", pk=pk)


class UrlCheckView(AccountRequiredMixin, View):
    """The check button: POST url → {ok, reason, status_code[, warning]}. Advisory only; saving checks again."""

    write_required = True

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(check_answer(check_webhook_url(request.account, request.POST.get("url", ""))))
