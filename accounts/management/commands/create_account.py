from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Account, Membership, Role


def _field_errors(error: ValidationError) -> str:
    """`slug: Enter a valid “slug” …` — one line per field, for the operator's terminal."""
    return "\n".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())


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
        try:
            account.full_clean()
        except ValidationError as error:
            raise CommandError(f"Invalid account:\n{_field_errors(error)}") from None
        users = get_user_model().objects
        user = users.filter(username=owner).first()
        if user is None:
            if not password:
                raise CommandError(f"User {owner!r} does not exist yet: give --password to create it.")
            try:
                validate_password(password, user=users.model(username=owner))
            except ValidationError as error:
                raise CommandError(f"Password refused: {' '.join(error.messages)}") from None
        account.save()
        if user is None:
            user = users.create_user(username=owner, password=password)
            self.stdout.write(f"Created user {owner}.")
        Membership.objects.update_or_create(user=user, account=account, defaults={"role": Role.OWNER})
        self.stdout.write(f"Created account {slug} ({name}) with owner {owner}.")
