"""The move from the webhooks app keeps every number: the tables are renamed, not rebuilt."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from phone_numbers.models import BlockedCaller, DirectDialNumber

BEFORE = [("webhooks", "0001_initial")]  # also takes phone_numbers back to zero, which needs webhooks 0002
AFTER = [("webhooks", "0002_move_numbers_to_the_phone_numbers_app"), ("phone_numbers", "0001_initial")]


def migrate(targets=None):
    """Migrate to `targets`, or to the latest migration of every app (unapplying webhooks 0002 also
    unapplies every later migration that depends on it, in any app)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # what the last run applied
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_numbers_written_before_the_move_are_there_after_it(transactional_db, acme):
    try:
        old = migrate(BEFORE)
        account = old.get_model("accounts", "Account").objects.get(pk=acme.pk)
        old.get_model("webhooks", "DirectDialNumber").objects.create(account=account, number="+911234", label="Sales")
        old.get_model("webhooks", "BlockedCaller").objects.create(account=account, number="+4420", reason="Spam")
        migrate(AFTER)
    finally:
        migrate()  # leave the whole schema as the other tests expect it

    assert DirectDialNumber.objects.get(account=acme).label == "Sales"
    assert BlockedCaller.objects.get(account=acme).reason == "Spam"
    assert "phone_numbers_directdialnumber" in connection.introspection.table_names()
