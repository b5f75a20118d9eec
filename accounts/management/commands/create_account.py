from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Account, Membership, Role


class Command(BaseCommand):
    help = "Create an account and its owner, or make an existing user its owner."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short unique name, e.g. acme.")
        parser.add_argument("--name", required=True, help="Display name, e.g. 'Acme Telecom'.")
        parser.add_argument("--owner", required=True, metavar="USERNAME")
        parser.add_argument("--password", help="Password of a new owner; ignored for an existing user.")

    @transaction.atomic
    def handle(self, *args, slug: str, name: str, owner: str, password: str | None, **options):
        if Account.objects.filter(slug=slug).exists():
            raise CommandError(f"An account with slug {slug!r} already exists.")
        account = Account(slug=slug, name=name)
        account.full_clean()
        account.save()
        users = get_user_model().objects
        user = users.filter(username=owner).first()
        if user is None:
            if not password:
                raise CommandError(f"User {owner!r} does not exist yet: give --password to create it.")
            user = users.create_user(username=owner, password=password)
            self.stdout.write(f"Created user {owner}.")
        Membership.objects.update_or_create(user=user, account=account, defaults={"role": Role.OWNER})
        self.stdout.write(f"Created account {slug} ({name}) with owner {owner}.")
