"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with the keys in FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a key can be rotated without downtime
(`manage.py rotate_secrets` re-encrypts stored values with the newest key).
"""

from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def current_fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_secret(plain: str) -> str:
    return current_fernet().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return current_fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("A stored secret cannot be decrypted: is FIELD_ENCRYPTION_KEYS missing a key?")


def rotate_secret(token: str) -> str:
    """Re-encrypt a stored value with the newest key."""
    return current_fernet().rotate(token.encode()).decode()


# Secrets that live inside another value (a widget password inside a flow's JSON definition),
# which `rotate_secrets` cannot find as EncryptedTextField columns. The app that owns such values
# registers how to re-encrypt them (in its AppConfig.ready()), so the project imports no app.
EMBEDDED_SECRET_ROTATORS: dict[str, Callable[[], int]] = {}


def register_embedded_secrets(label: str, rotate: Callable[[], int]) -> None:
    """`rotate()` re-encrypts every such secret with the newest key and returns how many."""
    EMBEDDED_SECRET_ROTATORS[label] = rotate


class EncryptedTextField(models.TextField):
    """A text field that is plain text in Python and Fernet ciphertext in the database.

    The empty string is stored as-is, so "no password" needs no decryption.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt_secret(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt_secret(value)
