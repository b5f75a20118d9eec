"""Re-encrypt every EncryptedTextField value with the newest key of FIELD_ENCRYPTION_KEYS.

Key rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run
this command, then drop the old keys. It works on the raw column values, so a value is never
decrypted into a model instance and saved back, and it is safe to run twice.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from phonon.encryption import EMBEDDED_SECRET_ROTATORS, EncryptedTextField, rotate_secret

BATCH_SIZE = 500


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary-key column, encrypted column) of every concrete model field."""
    return [
        (model._meta.db_table, model._meta.pk.column, field.column)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def rotate_column(table: str, pk: str, column: str) -> int:
    """Raw SQL on purpose: the ORM would decrypt on read and encrypt on write; here the ciphertext
    itself is rotated. Table and column names come from model metadata, quoted; values are bound."""
    quote = connection.ops.quote_name
    select = f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)}"  # noqa: S608
    order = f"ORDER BY {quote(pk)} LIMIT {BATCH_SIZE}"
    update = f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s AND {quote(column)} = %s"  # noqa: S608
    rotated, last_pk = 0, None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if last_pk is None:
                cursor.execute(f"{select} {order}")
            else:
                cursor.execute(f"{select} WHERE {quote(pk)} > %s {order}", [last_pk])
            rows = cursor.fetchall()
            for row_pk, token in rows:
                if token:
                    try:
                        new_token = rotate_secret(token)
                    except InvalidToken:
                        raise CommandError(
                            f"{table}.{column} of row {row_pk} cannot be decrypted with any key in "
                            "FIELD_ENCRYPTION_KEYS; add the key it was encrypted with and run again."
                        )
                    # The old value in the WHERE clause: a row changed meanwhile keeps its new value.
                    cursor.execute(update, [new_token, row_pk, token])
                    rotated += cursor.rowcount
        if len(rows) < BATCH_SIZE:
            return rotated
        last_pk = rows[-1][0]


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (webhook and widget passwords, signing secrets) with the newest encryption key."

    def handle(self, *args, **options) -> None:
        total = 0
        for table, pk, column in encrypted_columns():
            count = rotate_column(table, pk, column)
            total += count
            self.stdout.write(f"{table}.{column}: {count} value(s) re-encrypted")
        for label, rotate in EMBEDDED_SECRET_ROTATORS.items():
            try:
                count = rotate()
            except InvalidToken:
                raise CommandError(
                    f"One of the {label} cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS; "
                    "add the key it was encrypted with and run again."
                )
            total += count
            self.stdout.write(f"{label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} secret(s) now use the newest key."))
