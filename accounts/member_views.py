"""Settings → Members (owners only), and the page an emailed invitation link opens."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from . import members
from .forms import InvitationSignupForm, InviteForm, RoleForm
from .middleware import SESSION_KEY
from .models import Membership, Role
from .tenancy import OwnerRequiredMixin


class MembersView(OwnerRequiredMixin, View):
    """Members and pending invitations, with the invite form beside them."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(InviteForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                membership = members.invite(request, request.account, **form.cleaned_data)
            except ValidationError as error:
                form.add_error("email", error)
            except members.MailNotSent as error:
                form.add_error(None, str(error))
                return self.render_page(form, status=503)
            else:
                messages.success(request, f"Invitation sent to {membership.email}; the link works for 7 days.")
                return redirect("accounts:members")
        return self.render_page(form, status=400)

    def render_page(self, form: InviteForm, status: int = 200) -> HttpResponse:
        context = {"form": form, "members": members.members_of(self.request.account), "roles": Role.choices}
        return render(self.request, "accounts/members.html", context, status=status)


class MemberObjectView(OwnerRequiredMixin, View):
    """One member row of the current account; another account's id is a 404."""

    def get_object(self) -> Membership:
        queryset = Membership.objects.filter(account=self.request.account).select_related("user", "account")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])


class MemberRoleView(MemberObjectView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        membership = self.get_object()
        form = RoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Role: {' '.join(form.errors['role'])}")
            return redirect("accounts:members")
        try:
            members.change_role(request, membership, form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{membership.display_name} is now {membership.get_role_display().lower()}.")
        return redirect("accounts:members")


class MemberRemoveView(MemberObjectView):
    """GET asks for confirmation; POST removes the member (or revokes the invitation)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, "accounts/member_confirm_remove.html", {"member": self.get_object()})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        membership = self.get_object()
        name, was_pending, was_me = (
            membership.display_name,
            membership.is_pending,
            membership.user_id == request.user.pk,
        )
        try:
            members.remove(request, membership)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("accounts:members")
        if was_pending:
            messages.success(request, f"Revoked the invitation to {name}; its link no longer works.")
        else:
            messages.success(request, f"Removed {name} from {request.account.name}, with their API tokens.")
        return redirect("accounts:home" if was_me else "accounts:members")


class InvitationView(View):
    """The emailed link: join as the signed-in user, or create a login; a used or expired link says so."""

    def dispatch(self, request: HttpRequest, key: str) -> HttpResponse:
        self.invitation = members.find_invitation(key)
        if self.invitation is None:
            return self.unusable("unknown", status=404)
        if not self.invitation.is_pending:
            return self.unusable("used")
        if self.invitation.invite_expired:
            return self.unusable("expired")
        return super().dispatch(request, key)

    def unusable(self, reason: str, status: int = 410) -> HttpResponse:
        context = {"reason": reason, "invitation": self.invitation}
        return render(self.request, "accounts/invitation_unusable.html", context, status=status)

    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        return self.render_page(InvitationSignupForm(email=self.invitation.email))

    def post(self, request: HttpRequest, key: str) -> HttpResponse:
        if request.user.is_authenticated:
            return self.join(request.user)
        form = InvitationSignupForm(request.POST, email=self.invitation.email)
        if not form.is_valid():
            return self.render_page(form, status=400)
        user = form.save()
        login(request, user)
        return self.join(user)

    def join(self, user) -> HttpResponse:
        account = self.invitation.account
        if members.accept(self.request, self.invitation, user):
            messages.success(self.request, f"Welcome to {account.name}.")
        else:
            messages.info(
                self.request,
                f"You are already a member of {account.name}; the invitation stays open for {self.invitation.email}.",
            )
        self.request.session[SESSION_KEY] = account.pk
        return redirect("accounts:home")

    def render_page(self, form: InvitationSignupForm, status: int = 200) -> HttpResponse:
        user = self.request.user
        context = {
            "invitation": self.invitation,
            "form": form,
            "already_member": user.is_authenticated and members.is_member(self.invitation.account, user),
            "login_exists": get_user_model().objects.filter(email__iexact=self.invitation.email).exists(),
        }
        return render(self.request, "accounts/invitation.html", context, status=status)


class InvitationRenewalView(View):
    """ "Ask for a new invitation" on an expired link's page: mails the inviter (or the owners)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, key: str) -> HttpResponse:
        invitation = members.find_invitation(key)
        if invitation is None or not invitation.is_pending or not invitation.invite_expired:
            return redirect("accounts:invitation", key=key)
        try:
            members.ask_for_new_invitation(request, invitation)
        except members.MailNotSent as error:
            messages.error(request, str(error))
            return redirect("accounts:invitation", key=key)
        context = {"reason": "asked", "invitation": invitation}
        return render(request, "accounts/invitation_unusable.html", context)
