"""Typed errors of field encryption, keys and blind indexes. Details name the table, column, row and key
version, never a value (plaintext or ciphertext)."""

from __future__ import annotations

from huike.core.errors import AppError, BadRequest
from huike.core.i18n import register_messages


class FieldCryptoError(AppError):
    """Base of every key and field-encryption failure: a server fault, never shown as an empty value."""

    status_code = 500
    code = "crypto.error"


class DecryptionFailed(FieldCryptoError):
    """The stored value does not authenticate: tampered, truncated, or copied from another row,
    column or tenant. ``details``: table, column, row, key_version."""

    code = "crypto.decryption_failed"


class MalformedCiphertext(DecryptionFailed):
    """The stored value is not ``v{version}:{base64}`` or is too short to hold a nonce and a tag."""

    code = "crypto.malformed_ciphertext"


class UnknownKeyVersion(DecryptionFailed):
    """The value names a key version that does not exist for its scope, or was retired."""

    code = "crypto.unknown_key_version"


class KeysNotLoaded(FieldCryptoError):
    """A row was loaded or written before its scope's keys were warmed (see ``warm_keys``)."""

    code = "crypto.keys_not_loaded"


class KeyRingNotConfigured(FieldCryptoError):
    code = "crypto.keyring_not_configured"


class MasterKeyError(FieldCryptoError):
    """The master key (KEK) is missing, malformed, or cannot unwrap a data key."""

    code = "crypto.master_key"


class KmsError(FieldCryptoError):
    """The KMS adapter's call failed or answered something unexpected."""

    code = "crypto.kms_error"


class InvalidPhoneNumber(BadRequest):
    code = "validation.phone_number"


register_messages(
    {
        "crypto.error": ("加密处理失败。", "Encryption failed."),
        "crypto.decryption_failed": (
            "数据解密失败（{table}.{column}，行 {row}，密钥版本 {key_version}）。",
            "Could not decrypt {table}.{column} of row {row} (key version {key_version}).",
        ),
        "crypto.malformed_ciphertext": (
            "密文格式无效（{table}.{column}，行 {row}）。",
            "Malformed ciphertext in {table}.{column} of row {row}.",
        ),
        "crypto.unknown_key_version": (
            "未知或已停用的密钥版本 {key_version}（{table}.{column}，行 {row}）。",
            "Unknown or retired key version {key_version} in {table}.{column} of row {row}.",
        ),
        "crypto.keys_not_loaded": (
            "数据密钥尚未加载（{scope}）。",
            "The data keys of {scope} were not loaded before use.",
        ),
        "crypto.keyring_not_configured": ("密钥环尚未配置。", "The key ring is not configured."),
        "crypto.master_key": ("主密钥不可用：{reason}", "The master key is unusable: {reason}"),
        "crypto.kms_error": ("密钥管理服务调用失败：{reason}", "The key management service failed: {reason}"),
        "validation.phone_number": ("手机号码格式无效。", "Invalid phone number."),
    }
)
