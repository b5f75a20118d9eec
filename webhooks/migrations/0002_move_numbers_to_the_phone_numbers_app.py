"""Direct Dial numbers and blocked callers move to the `phone_numbers` app; their rows stay.

The tables are renamed to the names the `phone_numbers` app gives them; `phone_numbers.0001_initial` then
takes the models over in the migration state only.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="directdialnumber", table="phone_numbers_directdialnumber"),
                migrations.AlterModelTable(name="blockedcaller", table="phone_numbers_blockedcaller"),
            ],
            state_operations=[
                migrations.DeleteModel(name="DirectDialNumber"),
                migrations.DeleteModel(name="BlockedCaller"),
            ],
        ),
    ]
