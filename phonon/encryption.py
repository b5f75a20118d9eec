"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with the keys in FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a key can be rotated without downtime
(`manage.py rotate_secrets` re-encrypts stored values with the newest key).
"""

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
