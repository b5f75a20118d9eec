"""Direct Dial numbers and blocked callers, taken over from the `webhooks` app with their rows.

`webhooks.0002` renamed the tables to these names; here the models enter this app's state
only, and the content types (admin history, permissions) follow them.
"""

import django.db.models.deletion
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """webhooks.directdialnumber → phone_numbers.directdialnumber (and the blocked callers), if they exist yet."""
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    for model in ("directdialnumber", "blockedcaller"):
        if not content_types.filter(app_label="phone_numbers", model=model).exists():
            content_types.filter(app_label="webhooks", model=model).update(app_label="phone_numbers")


def move_content_types_back(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    for model in ("directdialnumber", "blockedcaller"):
        if not content_types.filter(app_label="webhooks", model=model).exists():
            content_types.filter(app_label="phone_numbers", model=model).update(app_label="webhooks")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("webhooks", "0002_move_numbers_to_the_phone_numbers_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BlockedCaller",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("number", models.CharField(help_text="Digits with an optional leading +.", max_length=32)),
                        ("reason", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.account"
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["number"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("account", "number"), name="unique_blocked_caller_per_account"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DirectDialNumber",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "number",
                            models.CharField(
                                help_text="Digits with an optional leading +, e.g. +911234567890.", max_length=32
                            ),
                        ),
                        ("label", models.CharField(blank=True, max_length=100)),
                        ("is_paused", models.BooleanField(default=False)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.account"
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["number"],
                        "constraints": [
                            models.UniqueConstraint(fields=("account", "number"), name="unique_direct_dial_per_account")
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
