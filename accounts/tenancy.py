"""The one way site views reach tenant data: through the current account's queryset.

A view that mixes in AccountObjectMixin answers 404 for another account's id, exactly as for a
missing one, and 403 to viewers on any write.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.generic import DeleteView

from .audit import DELETED, record
from .models import Role

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def require_write(request: HttpRequest) -> None:
    if request.membership is None or not request.membership.can_write:
        raise PermissionDenied("Viewers cannot change anything; ask an owner for the developer role.")


class AccountRequiredMixin(LoginRequiredMixin):
    """A signed-in member of the current account; writes need the owner or developer role.

    Set `write_required = True` on views whose GET already belongs to a write (e.g. a create form).
    """

    write_required = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.account is None:
            raise PermissionDenied("You are not a member of any account yet; ask an account owner to add you.")
        if self.write_required or request.method not in SAFE_METHODS:
            require_write(request)
        return super().dispatch(request, *args, **kwargs)


class OwnerRequiredMixin(AccountRequiredMixin):
    """Owners' pages (members, audit log): developers and viewers get 403 even to read."""

    def dispatch(self, request, *args, **kwargs):
        membership = getattr(request, "membership", None)
        if request.user.is_authenticated and membership is not None and membership.role != Role.OWNER:
            raise PermissionDenied("Only the account's owners can open this page.")
        return super().dispatch(request, *args, **kwargs)


class AccountObjectMixin(AccountRequiredMixin):
    """Generic views over an AccountOwned model, scoped to the current account."""

    model: type[models.Model]

    def get_queryset(self):
        return self.model.objects.for_account(self.request.account)

    def form_valid(self, form):
        """Stamp the current account on what a model form creates (a delete's form has no instance)."""
        instance = getattr(form, "instance", None)
        if isinstance(instance, models.Model):
            instance.account = self.request.account
        return super().form_valid(form)


class AccountObjectDeleteView(AccountObjectMixin, DeleteView):
    """GET asks for confirmation (a write's first step, so viewers get 403); POST deletes and
    writes the audit row.

    Set `success_url` and `success_message`, which is formatted with the deleted `object`.
    """

    write_required = True
    success_message: str

    @transaction.atomic
    def form_valid(self, form):
        record(self.request, DELETED, self.object)
        messages.success(self.request, self.success_message.format(object=self.object))
        return super().form_valid(form)


class AccountObjectView(AccountObjectMixin, View):
    """A plain view over one object of the current account (`pk` from the URL); the apps' actions build on it."""

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class PostOnlyObjectView(AccountObjectView):
    """An action on one object. GET answers 404 for another account's id (as POST does), else 405."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.get_object()
        return HttpResponseNotAllowed(["POST"])
