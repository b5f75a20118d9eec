"""Flows saved before revisions existed become their revision 1, published, and their executions ran it."""

from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from flows.models import Execution, Flow


def revisions_migrations() -> tuple[str, str]:
    """(the flows migration before revisions, the one that makes an execution's revision required),
    found by name so that renumbering them changes nothing here."""
    graph = MigrationLoader(connection).graph
    names = sorted(name for app, name in graph.nodes if app == "flows")
    first = next(name for name in names if name.endswith("_revisions"))
    required = next(name for name in names if name.endswith("_execution_revision_required"))
    (before,) = [parent.key[1] for parent in graph.node_map[("flows", first)].parents if parent.key[0] == "flows"]
    return before, required


def test_a_flow_and_its_executions_from_before_revisions_get_revision_1_published(transactional_db, acme):
    before, after = revisions_migrations()
    try:
        call_command("migrate", "flows", before, verbosity=0)
        old = MigrationLoader(connection).project_state(("flows", before)).apps
        account = old.get_model("accounts", "Account").objects.get(pk=acme.pk)
        widgets = [{"id": "end", "type": "end"}]
        flow = old.get_model("flows", "Flow").objects.create(
            account=account, name="Old", start="end", widgets=widgets, layout={"end": {"x": 1, "y": 2}}
        )
        execution = old.get_model("flows", "Execution").objects.create(account=account, flow=flow)
        call_command("migrate", "flows", after, verbosity=0)
    finally:
        call_command("migrate", verbosity=0)  # leave the whole schema as the other tests expect it

    flow = Flow.objects.get(pk=flow.pk)
    revision = flow.published_revision
    assert (revision.number, revision.widgets, revision.layout) == (1, widgets, {"end": {"x": 1, "y": 2}})
    assert revision.published_at is not None
    assert Execution.objects.get(pk=execution.pk).revision == revision
