"""Header and query-parameter rows saved before every row said whether it is secret get `"secret": false`.

Flows and their revisions alike: answers then show SPEC §6's row shape, and the next save of an
untouched flow is no change in its history (a revision compares stored widgets).
"""

from django.db import migrations

ROW_LISTS = ("headers", "query_params")  # as in flows.widgets.webhook_config, frozen here


def rows_say_secret(apps, schema_editor):
    for model_name in ("Flow", "FlowRevision"):
        model = apps.get_model("flows", model_name)
        for pk, widgets in model.objects.values_list("pk", "widgets").iterator():
            if _add_secret_false(widgets):
                model.objects.filter(pk=pk).update(widgets=widgets)


def _add_secret_false(widgets) -> bool:
    """Give every row without `secret` a false one, in place; whether any row changed."""
    changed = False
    for widget in widgets if isinstance(widgets, list) else []:
        config = widget.get("config") if isinstance(widget, dict) and widget.get("type") == "webhook" else None
        for key in ROW_LISTS if isinstance(config, dict) else ():
            for row in config.get(key) if isinstance(config.get(key), list) else []:
                if isinstance(row, dict) and "secret" not in row:
                    row["secret"] = False
                    changed = True
    return changed


class Migration(migrations.Migration):
    dependencies = [("flows", "0008_execution_revision_required")]

    # Backwards, the key stays: older code reads a false `secret` as a plain row.
    operations = [migrations.RunPython(rows_say_secret, migrations.RunPython.noop)]
