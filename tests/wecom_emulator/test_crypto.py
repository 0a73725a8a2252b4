"""WXBizMsgCrypt against Tencent's official test vectors (spec §13.4), and tampering."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wecom_emulator.crypto import CryptoError, MsgCrypt, signature

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_ID = "ww1436e0e65a779aee"

ECHO = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
MESSAGE = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
    "encrypt": (
        "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLN"
        "shw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh"
        "010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNf"
        "SsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
    ),
}
MESSAGE_XML = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)


@pytest.fixture
def crypt() -> MsgCrypt:
    return MsgCrypt(TOKEN, AES_KEY, CORP_ID)


def _random_prefix(encrypt: str) -> bytes:
    """The 16 random bytes Tencent used, read straight from the ciphertext."""
    key = base64.b64decode(AES_KEY + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return (decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize())[:16]


def test_signatures_of_the_vectors(crypt: MsgCrypt) -> None:
    assert crypt.sign(ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"]) == ECHO["msg_signature"]
    assert crypt.sign(MESSAGE["timestamp"], MESSAGE["nonce"], MESSAGE["encrypt"]) == MESSAGE["msg_signature"]
    assert signature(TOKEN, ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"]) == ECHO["msg_signature"]


def test_verify_url_vector(crypt: MsgCrypt) -> None:
    plain = crypt.check(ECHO["msg_signature"], ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"])
    assert plain == b"1288432023552776189"


def test_message_vector(crypt: MsgCrypt) -> None:
    plain = crypt.check(MESSAGE["msg_signature"], MESSAGE["timestamp"], MESSAGE["nonce"], MESSAGE["encrypt"])
    assert plain.decode("utf-8") == MESSAGE_XML


@pytest.mark.parametrize(
    ("plain", "encrypt"),
    [(b"1288432023552776189", ECHO["echostr"]), (MESSAGE_XML.encode(), MESSAGE["encrypt"])],
)
def test_the_sending_side_reproduces_the_vectors(crypt: MsgCrypt, plain: bytes, encrypt: str) -> None:
    """With Tencent's random prefix, encrypt() yields their exact ciphertext: padding to 32-byte
    blocks, the length field and the trailing receiveid are all as WeCom does them."""
    assert crypt.encrypt(plain, random16=_random_prefix(encrypt)) == encrypt


@pytest.mark.parametrize("size", [0, 1, 11, 12, 31, 32, 33, 1000])
def test_round_trip_every_padding_length(crypt: MsgCrypt, size: int) -> None:
    message = ("汇" * size)[:size] if size % 2 else "x" * size
    encrypt = crypt.encrypt(message)
    assert len(base64.b64decode(encrypt)) % 32 == 0
    assert crypt.decrypt(encrypt) == message.encode("utf-8")


def test_tampering_is_refused(crypt: MsgCrypt) -> None:
    with pytest.raises(CryptoError) as bad_signature:
        crypt.check("0" * 40, MESSAGE["timestamp"], MESSAGE["nonce"], MESSAGE["encrypt"])
    assert bad_signature.value.code == -40001
    with pytest.raises(CryptoError) as other_corp:
        MsgCrypt(TOKEN, AES_KEY, "ww0000000000000000").decrypt(MESSAGE["encrypt"])
    assert other_corp.value.code == -40005
    with pytest.raises(CryptoError) as not_base64:
        crypt.decrypt("not base64 at all!")
    assert not_base64.value.code == -40010
    flipped = bytearray(base64.b64decode(MESSAGE["encrypt"]))
    flipped[-1] ^= 0x01  # corrupts the padding byte after decryption
    with pytest.raises(CryptoError):
        crypt.decrypt(base64.b64encode(bytes(flipped)).decode())


@pytest.mark.parametrize("key", ["short", AES_KEY + "A", "!" * 43])
def test_illegal_aes_keys(key: str) -> None:
    with pytest.raises(CryptoError) as error:
        MsgCrypt(TOKEN, key, CORP_ID)
    assert error.value.code == -40004
