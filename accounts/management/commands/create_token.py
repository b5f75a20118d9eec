from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Account, ApiToken, Membership, Role


class Command(BaseCommand):
    help = "Create an API token for a user in an account; the key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--account", required=True, metavar="SLUG")
        parser.add_argument(
            "--role", choices=Role.values, help="Add the user to the account with this role first (or change it)."
        )
        parser.add_argument("--name", default="", help="A label to tell the token apart, e.g. 'CRM'.")

    @transaction.atomic
    def handle(self, *args, username: str, account: str, role: str | None, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        target = Account.objects.filter(slug=account).first()
        if target is None:
            raise CommandError(f"No account with slug {account!r}.")
        if role:
            Membership.objects.update_or_create(user=user, account=target, defaults={"role": role})
        elif not Membership.objects.filter(user=user, account=target).exists():
            raise CommandError(f"{username} is not a member of {account}; add --role owner|developer|viewer.")
        token, key = ApiToken.issue(user=user, account=target, name=name or "created by create_token")
        self.stdout.write(f"Token {token.prefix}… for {username} in {account}. It is shown once; store it now:")
        self.stdout.write(key)
