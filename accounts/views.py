"""The account's own pages: home, IP whitelist, API tokens, audit log, and the account switcher."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from . import audit
from .client_ip import get_client_ip
from .forms import ApiTokenForm, AuditLogFilterForm, IpWhitelistEntryForm
from .middleware import SESSION_KEY
from .models import ApiToken, AuditEntry, IpWhitelistEntry
from .tenancy import AccountObjectDeleteView, AccountRequiredMixin, OwnerRequiredMixin

NEW_KEY_SESSION_KEY = "new_api_token_key"


class HomeView(LoginRequiredMixin, View):
    """A small dashboard: which account, what it allows, where to go next.

    A user without any account (e.g. support staff) sees a short note instead of a 403.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        account = request.account
        if account is None:
            return render(request, "accounts/no_account.html")
        return render(
            request,
            "accounts/home.html",
            {
                "whitelist_count": IpWhitelistEntry.objects.for_account(account).count(),
                "token_count": ApiToken.objects.for_account(account).count(),
            },
        )


class IpWhitelistView(AccountRequiredMixin, View):
    """The list with the add form beside it; a failed add keeps what was typed."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(IpWhitelistEntryForm(account=request.account))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = IpWhitelistEntryForm(request.POST, account=request.account)
        if not form.is_valid():
            return self.render_page(form, status=400)
        entry = form.save()
        audit.record(request, audit.CREATED, entry)
        messages.success(request, f"Added {entry.cidr} to the IP whitelist.")
        return redirect("accounts:ip-whitelist")

    def render_page(self, form: IpWhitelistEntryForm, status: int = 200) -> HttpResponse:
        request = self.request
        context = {
            "form": form,
            "entries": IpWhitelistEntry.objects.for_account(request.account),
            "client_ip": get_client_ip(request),
        }
        return render(request, "accounts/ip_whitelist.html", context, status=status)


class IpWhitelistDeleteView(AccountObjectDeleteView):
    model = IpWhitelistEntry
    template_name = "accounts/ip_whitelist_confirm_delete.html"
    success_url = reverse_lazy("accounts:ip-whitelist")
    success_message = "Removed {object.cidr} from the IP whitelist."


class ApiTokensView(AccountRequiredMixin, View):
    """Tokens of the account by prefix; a new key is shown once, right after it is created."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(ApiTokenForm(), new_key=request.session.pop(NEW_KEY_SESSION_KEY, None))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_page(form, status=400)
        token, key = ApiToken.issue(user=request.user, account=request.account, name=form.cleaned_data["name"])
        audit.record(request, audit.CREATED, token)
        # Post/redirect/get: the key rides in the session for exactly one page view.
        request.session[NEW_KEY_SESSION_KEY] = key
        messages.success(request, f"Created the token {token.name!r}.")
        return redirect("accounts:api-tokens")

    def render_page(self, form: ApiTokenForm, new_key: str | None = None, status: int = 200) -> HttpResponse:
        request = self.request
        tokens = ApiToken.objects.for_account(request.account).select_related("user")
        response = render(
            request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_key": new_key}, status=status
        )
        response["Cache-Control"] = "no-store"
        return response


class ApiTokenRevokeView(AccountObjectDeleteView):
    model = ApiToken
    template_name = "accounts/api_token_confirm_revoke.html"
    success_url = reverse_lazy("accounts:api-tokens")
    success_message = "Revoked the token {object.prefix}…; it no longer works."


class AuditLogView(OwnerRequiredMixin, ListView):
    """Settings → Audit log: the account's changes, newest first, filtered like the API."""

    template_name = "accounts/audit_log.html"
    context_object_name = "entries"
    paginate_by = 50

    def get_queryset(self):
        entries = AuditEntry.objects.for_account(self.request.account)
        self.filters = AuditLogFilterForm(self.request.GET or None)
        if self.filters.is_bound and self.filters.is_valid():
            entries = self.filters.filter(entries)
        return entries

    def get_context_data(self, **kwargs):
        return super().get_context_data(filters=self.filters, **kwargs)


@login_required
@require_POST
def switch_account(request: HttpRequest) -> HttpResponse:
    """Make another of the user's accounts the current one; other accounts are a 404."""
    try:
        account_id = int(request.POST.get("account", ""))
    except ValueError:
        raise Http404("No such account.")
    if not 0 < account_id < 2**63:  # beyond any key (the database cannot even compare it)
        raise Http404("No such account.")
    membership = get_object_or_404(request.user.memberships.select_related("account"), account_id=account_id)
    request.session[SESSION_KEY] = membership.account_id
    messages.success(request, f"Switched to {membership.account.name}.")
    next_url = request.POST.get("next", "")
    # A path on this site only ("on" would be read as a view's name by redirect()).
    is_safe = next_url.startswith("/") and url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(next_url if is_safe else reverse("accounts:home"))
