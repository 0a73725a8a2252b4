"""WeCom's callback crypto (WXBizMsgCrypt), receiving side, on ``cryptography``.

AES-256-CBC with WeCom's own PKCS#7 padding to 32-byte blocks, key = base64(EncodingAESKey + "="),
iv = key[:16]; plaintext = 16 random bytes ‖ uint32 length ‖ message ‖ receive id (the CorpID for a
self-built app); signature = sha1 of the sorted token, timestamp, nonce and ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoErrorCode(IntEnum):
    """The error numbers of Tencent's reference implementation, kept for operators' searches."""

    validate_signature = -40001
    parse_xml = -40002
    illegal_aes_key = -40004
    validate_receive_id = -40005
    decrypt_aes = -40007
    illegal_buffer = -40008
    decode_base64 = -40010


class CallbackCryptoError(Exception):
    def __init__(self, code: CryptoErrorCode) -> None:
        super().__init__(f"{code.name} ({int(code)})")
        self.code = code


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()  # noqa: S324


def _key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CallbackCryptoError(CryptoErrorCode.illegal_aes_key)
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise CallbackCryptoError(CryptoErrorCode.illegal_aes_key) from exc
    if len(key) != 32:
        raise CallbackCryptoError(CryptoErrorCode.illegal_aes_key)
    return key


@dataclass(frozen=True)
class CallbackCrypto:
    """One app's callback settings: Token, EncodingAESKey and the receive id (CorpID)."""

    token: str
    encoding_aes_key: str
    receive_id: str

    def __post_init__(self) -> None:
        _key(self.encoding_aes_key)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise CallbackCryptoError(CryptoErrorCode.validate_signature)

    def decrypt(self, encrypted: str) -> bytes:
        key = _key(self.encoding_aes_key)
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except binascii.Error as exc:
            raise CallbackCryptoError(CryptoErrorCode.decode_base64) from exc
        if not raw or len(raw) % 16:
            raise CallbackCryptoError(CryptoErrorCode.decrypt_aes)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
            raise CallbackCryptoError(CryptoErrorCode.illegal_buffer)
        body = plain[16:-pad]
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise CallbackCryptoError(CryptoErrorCode.illegal_buffer)
        message, receive_id = body[4 : 4 + length], body[4 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise CallbackCryptoError(CryptoErrorCode.validate_receive_id)
        return message

    def verify_and_decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        self.verify(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def encrypt(self, message: bytes, *, random_prefix: bytes | None = None) -> str:
        """Encrypt as WeCom does (for passive replies and for tests)."""
        key = _key(self.encoding_aes_key)
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        body = prefix + struct.pack(">I", len(message)) + message + self.receive_id.encode()
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()
