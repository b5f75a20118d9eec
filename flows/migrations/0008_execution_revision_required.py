"""Executions carry their revision; a separate migration, so PostgreSQL alters the column after the previous migration's
data migration has committed (one transaction cannot hold both: "pending trigger events")."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0007_revisions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="execution",
            name="revision",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="executions", to="flows.flowrevision"
            ),
        ),
    ]
