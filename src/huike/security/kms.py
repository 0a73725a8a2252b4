"""Master keys (KEKs) behind one interface: they wrap and unwrap the per-scope data keys (DEKs).

* :class:`LocalKeyProvider` (embedded mode): master keys from ``HUIKE_MASTER_KEY`` (base64, or
  ``v1:<base64>,v2:<base64>``) or from the key file ``{data_dir}/keys/master.key`` (mode 0600, one
  ``v{n}:<base64>`` line per version). The highest version wraps new data keys; every version unwraps.
  :func:`ensure_master_key` makes the file on first ``huike run``.
* :class:`AliyunKmsProvider` (production): KMS ``Encrypt``/``Decrypt`` in a mainland region through an
  injected transport (the egress client), so this module holds no SDK and opens no socket.

Every wrap binds an encryption context (scope, family, version of the data key), so a wrapped key
copied onto another key row does not unwrap. No key material is ever logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from huike.config import Settings
from huike.security.errors import KmsError, MasterKeyError

log = structlog.get_logger(__name__)

MASTER_KEY_ENV = "HUIKE_MASTER_KEY"
MASTER_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class WrappedKey:
    kek_id: str  # which master key (and version) wrapped it, e.g. "local:v2" or "aliyun:cn-shanghai:<id>"
    blob: bytes


class KeyProvider(Protocol):
    """Wraps and unwraps data keys. ``context`` is bound to the wrap (AAD / KMS EncryptionContext)."""

    @property
    def current_kek_id(self) -> str: ...

    async def wrap(self, dek: bytes, context: Mapping[str, str]) -> WrappedKey: ...

    async def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes: ...


def _context_bytes(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()


# --- local master keys ---------------------------------------------------------------------------


def parse_master_keys(text: str) -> dict[int, bytes]:
    """``v1:<b64>`` entries separated by newlines or commas (``#`` comments); a bare base64 is v1."""
    keys: dict[int, bytes] = {}
    entries = [part.strip() for line in text.splitlines() for part in line.split("#", 1)[0].split(",")]
    for entry in filter(None, entries):
        label, sep, encoded = entry.partition(":")
        if not sep:
            label, encoded = "v1", entry
        if not (label.startswith("v") and label[1:].isdigit() and int(label[1:]) > 0):
            raise MasterKeyError(reason="bad version label")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyError(reason="not base64") from None
        if len(key) != MASTER_KEY_BYTES:
            raise MasterKeyError(reason="a master key is 32 bytes")
        version = int(label[1:])
        if version in keys:
            raise MasterKeyError(reason="version given twice")
        keys[version] = key
    return keys


def format_master_keys(keys: Mapping[int, bytes]) -> str:
    lines = [
        "# Huike master keys (KEK). Back this file up somewhere safe: without it no data can be read.",
        *(f"v{version}:{base64.b64encode(key).decode()}" for version, key in sorted(keys.items())),
    ]
    return "\n".join(lines) + "\n"


def master_key_path(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "master.key"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` created with mode 0600 (atomically replacing an older file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_master_key(settings: Settings) -> Path:
    """Called by ``huike run``: make the embedded master key file unless a key already exists.

    Returns the key file's path (which does not exist when the key comes from ``HUIKE_MASTER_KEY``).
    A new key is announced with a loud warning: losing it loses every encrypted value.
    """
    path = master_key_path(settings)
    if os.environ.get(MASTER_KEY_ENV):
        parse_master_keys(os.environ[MASTER_KEY_ENV])  # fail early on a malformed variable
        return path
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("keys.master_key_file_permissions", path=str(path), mode=oct(mode))
            path.chmod(0o600)
        parse_master_keys(path.read_text())
        return path
    _write_private(path, format_master_keys({1: secrets.token_bytes(MASTER_KEY_BYTES)}))
    log.warning(
        "keys.master_key_generated",
        path=str(path),
        action="BACK THIS FILE UP NOW (offline, not next to the database): "
        "without it no encrypted field can ever be read again",
    )
    return path


def add_master_key_version(settings: Settings) -> int:
    """Append a new master key version to the key file; new data keys are wrapped with it."""
    path = master_key_path(settings)
    keys = parse_master_keys(path.read_text()) if path.exists() else {}
    version = max(keys, default=0) + 1
    keys[version] = secrets.token_bytes(MASTER_KEY_BYTES)
    _write_private(path, format_master_keys(keys))
    log.warning("keys.master_key_version_added", path=str(path), version=version)
    return version


class LocalKeyProvider:
    """AES-256-GCM key wrapping under a local master key."""

    def __init__(self, master_keys: Mapping[int, bytes]) -> None:
        if not master_keys:
            raise MasterKeyError(reason="no master key")
        if any(len(key) != MASTER_KEY_BYTES for key in master_keys.values()):
            raise MasterKeyError(reason="a master key is 32 bytes")
        self._keys = dict(master_keys)
        self._current = max(self._keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalKeyProvider:
        """Keys from ``HUIKE_MASTER_KEY`` when set, else from the key file."""
        env = os.environ.get(MASTER_KEY_ENV)
        if env:
            return cls(parse_master_keys(env))
        path = master_key_path(settings)
        if not path.exists():
            raise MasterKeyError(reason=f"no {MASTER_KEY_ENV} and no key file at {path}")
        return cls(parse_master_keys(path.read_text()))

    @property
    def current_kek_id(self) -> str:
        return f"local:v{self._current}"

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    async def wrap(self, dek: bytes, context: Mapping[str, str]) -> WrappedKey:
        nonce = os.urandom(12)
        blob = nonce + AESGCM(self._keys[self._current]).encrypt(nonce, dek, _context_bytes(context))
        return WrappedKey(self.current_kek_id, blob)

    async def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        kind, _, label = wrapped.kek_id.partition(":")
        version = int(label[1:]) if kind == "local" and label[1:].isdigit() else None
        key = self._keys.get(version) if version is not None else None
        if key is None:
            raise MasterKeyError(reason=f"master key {wrapped.kek_id} is not available")
        try:
            return AESGCM(key).decrypt(wrapped.blob[:12], wrapped.blob[12:], _context_bytes(context))
        except InvalidTag:
            raise MasterKeyError(reason="a wrapped data key does not unwrap") from None


# --- Aliyun KMS ----------------------------------------------------------------------------------

KmsTransport = Callable[[str, dict[str, str]], Awaitable[dict[str, Any]]]
"""``await transport(action, params) -> response``: one signed KMS API call (e.g. action "Encrypt")."""

NON_MAINLAND_REGIONS = frozenset({"cn-hongkong"})


class AliyunKmsProvider:
    """Envelope keys under an Aliyun KMS key (CMK). KMS never sees field values, only data keys.

    ``Encrypt``: ``{KeyId, Plaintext=base64(dek), EncryptionContext=json}`` → ``{CiphertextBlob, KeyId}``;
    ``Decrypt``: ``{CiphertextBlob, EncryptionContext}`` → ``{Plaintext}``.
    """

    def __init__(self, *, key_id: str, region_id: str, transport: KmsTransport) -> None:
        if not region_id.startswith("cn-") or region_id in NON_MAINLAND_REGIONS:
            raise KmsError(reason=f"region {region_id} is not in mainland China")
        self.key_id = key_id
        self.region_id = region_id
        self._transport = transport

    @property
    def current_kek_id(self) -> str:
        return f"aliyun:{self.region_id}:{self.key_id}"

    async def _call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            return await self._transport(action, params)
        except KmsError:
            raise
        except Exception as exc:
            log.warning("keys.kms_call_failed", action=action, error_type=type(exc).__name__)
            raise KmsError(reason=f"{action} failed ({type(exc).__name__})") from exc

    async def wrap(self, dek: bytes, context: Mapping[str, str]) -> WrappedKey:
        response = await self._call(
            "Encrypt",
            {
                "KeyId": self.key_id,
                "Plaintext": base64.b64encode(dek).decode(),
                "EncryptionContext": _context_bytes(context).decode(),
            },
        )
        blob = response.get("CiphertextBlob")
        if not isinstance(blob, str) or not blob:
            raise KmsError(reason="Encrypt answered without CiphertextBlob")
        key_id = response.get("KeyId") or self.key_id
        return WrappedKey(f"aliyun:{self.region_id}:{key_id}", blob.encode())

    async def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        if not wrapped.kek_id.startswith("aliyun:"):
            raise MasterKeyError(reason=f"{wrapped.kek_id} was not wrapped by KMS")
        response = await self._call(
            "Decrypt",
            {"CiphertextBlob": wrapped.blob.decode(), "EncryptionContext": _context_bytes(context).decode()},
        )
        plaintext = response.get("Plaintext")
        try:
            dek = base64.b64decode(str(plaintext), validate=True)
        except (binascii.Error, ValueError):
            raise KmsError(reason="Decrypt answered a malformed Plaintext") from None
        if len(dek) != MASTER_KEY_BYTES:
            raise KmsError(reason="Decrypt answered a key of the wrong length")
        return dek


# --- configuration -------------------------------------------------------------------------------


class KeySettings(BaseSettings):
    """Which provider wraps data keys (read from HUIKE_* like the main settings)."""

    model_config = SettingsConfigDict(env_prefix="HUIKE_", env_file=".env", extra="ignore")

    key_provider: str = Field("local", description="local (key file / HUIKE_MASTER_KEY) or aliyun.")
    kms_key_id: str | None = Field(None, description="Aliyun KMS key id or alias (key_provider=aliyun).")
    kms_region: str = Field("cn-shanghai", description="Aliyun KMS region; must be in mainland China.")


def provider_from_settings(settings: Settings, *, transport: KmsTransport | None = None) -> KeyProvider:
    """The configured provider. The Aliyun one needs the egress client's KMS transport."""
    key_settings = KeySettings()
    if key_settings.key_provider == "aliyun":
        if transport is None or not key_settings.kms_key_id:
            raise KmsError(reason="key_provider=aliyun needs HUIKE_KMS_KEY_ID and a KMS transport")
        return AliyunKmsProvider(
            key_id=key_settings.kms_key_id, region_id=key_settings.kms_region, transport=transport
        )
    if key_settings.key_provider != "local":
        raise KmsError(reason=f"unknown key provider {key_settings.key_provider}")
    return LocalKeyProvider.from_settings(settings)
