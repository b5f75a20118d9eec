"""Base viewsets: get_queryset() is the one place the API scopes data to the token's account."""

from rest_framework import mixins, viewsets


class AccountScopedMixin:
    """Scopes `queryset` to the token's account and stamps it on created rows.

    Another account's id is then a 404 like a missing one. Serializers find the account in
    their context as `account`.
    """

    @property
    def account(self):
        return self.request.auth.account

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no token
            return queryset.none()
        return queryset.filter(account=self.account)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request is not None and self.request.auth is not None:
            context["account"] = self.account
        return context

    def perform_create(self, serializer):
        serializer.save(account=self.account)


class AccountScopedViewSet(AccountScopedMixin, viewsets.ModelViewSet):
    pass


class AccountScopedCreateListRetrieveViewSet(
    AccountScopedMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """For resources that are never edited (executions); add DestroyModelMixin where they may be deleted."""
