from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from accounts.http_support import set_http_support
from accounts.models import Account, on_off


class Command(BaseCommand):
    help = "Turn HTTP support (plain-http webhook URLs) on or off for an account; staff only, audit-logged."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The account's slug.")
        parser.add_argument("state", choices=["on", "off"])
        parser.add_argument("--by", required=True, metavar="STAFF_USERNAME", help="The staff member making the change.")

    def handle(self, *args, slug: str, state: str, by: str, **options):
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            raise CommandError(f"No account with slug {slug!r}.")
        staff = get_user_model().objects.filter(username=by).first()
        if staff is None:
            raise CommandError(f"No user named {by!r}; --by must name a staff user.")
        try:
            change = set_http_support(account, state == "on", by=staff)
        except PermissionDenied:
            raise CommandError(f"{by} is not staff: only support staff may change HTTP support.")
        if change is None:
            self.stdout.write(f"HTTP support for {slug} is already {state}; nothing changed.")
        else:
            self.stdout.write(
                f"HTTP support for {slug}: {on_off(change.old_value)} → {on_off(change.new_value)} (by {by}, logged)."
            )
