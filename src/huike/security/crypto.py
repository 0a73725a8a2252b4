"""AES-256-GCM for single field values (F3).

Stored format: ``v{key_version}:{base64(nonce ‖ ciphertext ‖ tag)}`` with a random 96-bit nonce.
The associated data is ``tenant_id|table|column|row_pk`` (``-`` for platform rows), so a value copied
into another row, column or tenant does not authenticate and fails with :class:`DecryptionFailed`.

These are the primitives; the ORM column that uses them is :func:`huike.security.fields.encrypted_column`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from huike.security.errors import DecryptionFailed, MalformedCiphertext, UnknownKeyVersion

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_FORMAT = re.compile(r"v([1-9][0-9]{0,8}):([A-Za-z0-9+/]+={0,2})")


class Ciphertext(str):
    """A value in the stored format. Only this module makes them; the column type refuses any other
    string, so plaintext cannot reach the database even through a hand-written UPDATE."""

    __slots__ = ()

    @property
    def key_version(self) -> int:
        return parse(self)[0]


@dataclass(frozen=True, slots=True)
class FieldContext:
    """Where a value lives; it becomes the AAD and names the place in errors."""

    tenant_id: uuid.UUID | None
    table: str
    column: str
    row_pk: str

    def aad(self) -> bytes:
        tenant = str(self.tenant_id) if self.tenant_id is not None else "-"
        return f"{tenant}|{self.table}|{self.column}|{self.row_pk}".encode()

    def details(self, key_version: int | None = None) -> dict[str, object]:
        return {"table": self.table, "column": self.column, "row": self.row_pk, "key_version": key_version}


def looks_encrypted(value: str) -> bool:
    return _FORMAT.fullmatch(value) is not None


def parse(value: str) -> tuple[int, bytes]:
    """``(key_version, nonce‖ct‖tag)``, or :class:`MalformedCiphertext` (without naming a place)."""
    match = _FORMAT.fullmatch(value)
    if match is None:
        raise MalformedCiphertext(table="?", column="?", row="?", key_version=None)
    try:
        blob = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCiphertext(table="?", column="?", row="?", key_version=None) from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise MalformedCiphertext(table="?", column="?", row="?", key_version=int(match.group(1)))
    return int(match.group(1)), blob


def encrypt_value(plaintext: str, key: bytes, version: int, where: FieldContext) -> Ciphertext:
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256 needs a 32-byte key")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), where.aad())
    return Ciphertext(f"v{version}:{base64.b64encode(nonce + sealed).decode('ascii')}")


def decrypt_value(value: str, key_for: Callable[[int], bytes | None], where: FieldContext) -> str:
    """Decrypt ``value`` stored at ``where``; ``key_for(version)`` gives the data key or ``None``.

    Raises :class:`MalformedCiphertext`, :class:`UnknownKeyVersion` or :class:`DecryptionFailed`,
    each naming the table, column and row.
    """
    try:
        version, blob = parse(value)
    except MalformedCiphertext as exc:
        raise MalformedCiphertext(**where.details(exc.details.get("key_version"))) from None
    key = key_for(version)
    if key is None:
        raise UnknownKeyVersion(**where.details(version))
    try:
        plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], where.aad())
    except InvalidTag:
        raise DecryptionFailed(**where.details(version)) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - only our own encrypt wrote it
        raise DecryptionFailed(**where.details(version)) from None
