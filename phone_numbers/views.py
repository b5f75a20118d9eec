"""Site pages: Advanced → Direct Dial and Advanced → Caller blocklist.

Every object is reached through the current account's queryset (`accounts.tenancy`), so
another account's id answers 404 like a missing one; viewers get 403 on every write.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from accounts.tenancy import AccountObjectMixin, PostOnlyObjectView

from .forms import BlockedCallerForm, DirectDialNumberForm
from .models import BlockedCaller, DirectDialNumber


class NumberListView(AccountObjectMixin, View):
    """A list of the account's numbers with an add form (Direct Dial numbers, blocked callers)."""

    form_class: type
    template_name: str
    success_message: str

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(self.form_class(account=request.account))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, account=request.account)
        if not form.is_valid():
            return self.render(form, status=400)
        number = form.save()
        messages.success(request, self.success_message.format(number=number.number))
        return redirect(request.path)

    def render(self, form, status: int = 200) -> HttpResponse:
        context = {"form": form, "numbers": self.get_queryset()}
        return render(self.request, self.template_name, context, status=status)


class NumberDeleteView(PostOnlyObjectView):
    """Deletes a number straight from its list page, which the redirect returns to."""

    success_message: str
    list_url_name: str

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        number = self.get_object()
        number.delete()
        messages.success(request, self.success_message.format(number=number.number))
        return redirect(self.list_url_name)


class DirectDialListView(NumberListView):
    model = DirectDialNumber
    form_class = DirectDialNumberForm
    template_name = "phone_numbers/directdial_list.html"
    success_message = "Direct Dial {number} added."


class DirectDialPauseView(PostOnlyObjectView):
    model = DirectDialNumber

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        number = self.get_object()
        action = request.POST.get("action")
        number.is_paused = {"pause": True, "unpause": False}.get(action, not number.is_paused)
        number.save(update_fields=["is_paused", "updated_at"])
        verb = "paused" if number.is_paused else "unpaused"
        messages.success(request, f"The Direct Dial {number.number} was successfully {verb}.")
        return redirect("phone_numbers:direct-dial-list")


class DirectDialDeleteView(NumberDeleteView):
    model = DirectDialNumber
    success_message = "Direct Dial {number} removed."
    list_url_name = "phone_numbers:direct-dial-list"


class BlocklistView(NumberListView):
    model = BlockedCaller
    form_class = BlockedCallerForm
    template_name = "phone_numbers/blocklist.html"
    success_message = "{number} is now blocked."


class BlockedCallerDeleteView(NumberDeleteView):
    model = BlockedCaller
    success_message = "{number} is no longer blocked."
    list_url_name = "phone_numbers:blocklist"
