"""WeCom's callback crypto (WXBizMsgCrypt, spec §13.4) on ``cryptography``.

The emulator is the sending side (encrypt + sign); the receiving side (verify + decrypt) is here
too because the URL handshake checks what the receiver answers, and tests use it to read events.

Layout of a plaintext before padding: 16 random bytes ‖ uint32 big-endian length ‖ message ‖
receiveid (the CorpID for a self-built app). AES-256-CBC with iv = key[:16], and WeCom's own
PKCS#7 over 32-byte blocks (not AES's 16), so the library's padding is not used."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32

# Codes of Tencent's reference library (ierror.py), so messages line up with other implementations.
VALIDATE_SIGNATURE_ERROR = -40001
ILLEGAL_AES_KEY = -40004
VALIDATE_RECEIVEID_ERROR = -40005
DECRYPT_AES_ERROR = -40007
ILLEGAL_BUFFER = -40008
DECODE_BASE64_ERROR = -40010


class CryptoError(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """sha1 over the four strings sorted lexicographically and joined without separator."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8"), usedforsecurity=False).hexdigest()


def _pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK  # a whole block when already aligned
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError(ILLEGAL_BUFFER, "empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= BLOCK or amount > len(data):
        raise CryptoError(ILLEGAL_BUFFER, "bad padding")
    return data[:-amount]


class MsgCrypt:
    """Token + EncodingAESKey + receiveid of one callback configuration."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise CryptoError(ILLEGAL_AES_KEY, "EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise CryptoError(ILLEGAL_AES_KEY, "EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise CryptoError(ILLEGAL_AES_KEY, "EncodingAESKey must decode to 32 bytes")
        self.token = token
        self.receive_id = receive_id
        self._key = key

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)

    def encrypt(self, message: str | bytes, random16: bytes | None = None) -> str:
        """The base64 ciphertext of ``message``; ``random16`` only to reproduce known vectors."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        prefix = os.urandom(16) if random16 is None else random16
        if len(prefix) != 16:
            raise ValueError("random16 must be 16 bytes")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        cipher = encryptor.update(_pad(plain)) + encryptor.finalize()
        return base64.b64encode(cipher).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside ``encrypt``; checks the trailing receiveid."""
        try:
            cipher = base64.b64decode(encrypt, validate=True)
        except binascii.Error as exc:
            raise CryptoError(DECODE_BASE64_ERROR, "ciphertext is not base64") from exc
        if not cipher or len(cipher) % 16:
            raise CryptoError(DECRYPT_AES_ERROR, "ciphertext length is not a multiple of 16")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(cipher) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError(ILLEGAL_BUFFER, "plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError(ILLEGAL_BUFFER, "length field out of range")
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise CryptoError(VALIDATE_RECEIVEID_ERROR, "receiveid mismatch")
        return message

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bytes:
        """Verify the signature, then decrypt (the receiver's whole job for one request)."""
        expected = self.sign(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise CryptoError(VALIDATE_SIGNATURE_ERROR, "signature mismatch")
        return self.decrypt(encrypt)

    def envelope(self, corp_id: str, agent_id: str, encrypt: str) -> str:
        """The outer XML WeCom POSTs for an event (element order as in Tencent's sample)."""
        return (
            f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
        )
