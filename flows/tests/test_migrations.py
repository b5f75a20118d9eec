"""Flows saved before revisions existed become their revision 1, published, and their executions ran it."""

from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from flows.models import Execution, Flow, FlowRevision
from flows.widgets.webhook_config import DEFAULTS
from phonon.encryption import encrypt_secret


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


def test_rows_saved_before_they_said_secret_say_false_in_flows_and_revisions(transactional_db, acme, alice_api):
    """Flows and their revisions get `"secret": false` on plain rows, so answers carry it and the next
    save of an untouched flow is no change in its history."""
    graph = MigrationLoader(connection).graph
    after = next(name for app, name in sorted(graph.nodes) if app == "flows" and name.endswith("_rows_say_secret"))
    (before,) = [parent.key[1] for parent in graph.node_map[("flows", after)].parents if parent.key[0] == "flows"]
    plain = {"key": "n", "value": "$call.cli", "mandatory": False}
    secret = {"key": "X-Api-Key", "value_encrypted": encrypt_secret("k3y"), "mandatory": True, "secret": True}
    config = {**DEFAULTS, "url": "https://api.example.com/orders", "headers": [secret], "query_params": [plain]}
    widgets = [
        {"id": "w1", "type": "webhook", "config": config, "next": {"0": "end", "1": "end"}},
        {"id": "end", "type": "end", "config": {"notes": ""}, "next": {}},  # as validate_flow stores it
    ]
    try:
        call_command("migrate", "flows", before, verbosity=0)
        old = MigrationLoader(connection).project_state(("flows", before)).apps
        account = old.get_model("accounts", "Account").objects.get(pk=acme.pk)
        flow = old.get_model("flows", "Flow").objects.create(account=account, name="Old", start="w1", widgets=widgets)
        revision = old.get_model("flows", "FlowRevision").objects.create(
            account=account, flow=flow, number=1, name="Old", start="w1", widgets=widgets
        )
        old.get_model("flows", "Flow").objects.filter(pk=flow.pk).update(published_revision=revision)
        call_command("migrate", "flows", after, verbosity=0)
    finally:
        call_command("migrate", verbosity=0)  # leave the whole schema as the other tests expect it

    for stored in (Flow.objects.get(pk=flow.pk).widgets, FlowRevision.objects.get(pk=revision.pk).widgets):
        assert stored[0]["config"]["query_params"] == [{**plain, "secret": False}]
        assert stored[0]["config"]["headers"] == [secret]
    shown = alice_api.get(f"/api/v1/flows/{flow.pk}/").json()
    assert shown["widgets"][0]["config"]["query_params"] == [{**plain, "secret": False}]
    assert alice_api.put(f"/api/v1/flows/{flow.pk}/", shown, format="json").status_code == 200
    assert alice_api.get(f"/api/v1/flows/{flow.pk}/revisions/").json()[0]["changes"]["changed"] == {}
