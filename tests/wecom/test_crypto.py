"""WXBizMsgCrypt, receiving side: Tencent's official vectors, round trips and every kind of tampering."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huike.wecom.crypto import CallbackCrypto, CallbackCryptoError, CryptoErrorCode, signature
from huike.wecom.xmlparse import UnsafeXml, parse_flat

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
OFFICIAL = CallbackCrypto(TOKEN, AES_KEY, CORP)

ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
MESSAGE = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkY"
    "cD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4K"
    "a7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f"
    "49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)


class TestOfficialVectors:
    def test_url_verification(self) -> None:
        plain = OFFICIAL.verify_and_decrypt(
            "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", ECHO
        )
        assert plain == b"1288432023552776189"

    def test_message(self) -> None:
        plain = OFFICIAL.verify_and_decrypt(
            "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", MESSAGE
        )
        fields = parse_flat(plain)
        assert fields["Content"] == "你好"
        assert fields["FromUserName"] == "ChenJiaShun"
        assert fields["MsgId"] == "1456453720"


@given(message=st.binary(max_size=4000), prefix=st.binary(min_size=16, max_size=16))
def test_round_trip(message: bytes, prefix: bytes) -> None:
    encrypted = OFFICIAL.encrypt(message, random_prefix=prefix)
    assert OFFICIAL.decrypt(encrypted) == message


@given(text=st.text(max_size=500))
def test_round_trip_text_with_signature(text: str) -> None:
    encrypted = OFFICIAL.encrypt(text.encode())
    sig = signature(TOKEN, "1700000000", "nonce", encrypted)
    assert OFFICIAL.verify_and_decrypt(sig, "1700000000", "nonce", encrypted).decode() == text


@given(position=st.integers(min_value=0, max_value=10_000), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_caught_by_the_signature(position: int, bit: int) -> None:
    encrypted = OFFICIAL.encrypt(b"<xml><Event>change_external_contact</Event></xml>")
    raw = bytearray(base64.b64decode(encrypted))
    raw[position % len(raw)] ^= 1 << bit
    tampered = base64.b64encode(bytes(raw)).decode()
    sig = signature(TOKEN, "1", "n", encrypted)  # signed before tampering
    with pytest.raises(CallbackCryptoError) as error:
        OFFICIAL.verify_and_decrypt(sig, "1", "n", tampered)
    assert error.value.code == CryptoErrorCode.validate_signature


@given(position=st.integers(min_value=16, max_value=10_000), bit=st.integers(min_value=0, max_value=7))
def test_flipped_bits_that_pass_a_forged_signature_still_fail_or_change_nothing_silently(
    position: int, bit: int
) -> None:
    """Without the signature, CBC tampering garbles the buffer: it never yields a clean different message
    bound to our corp unless the receive id and length still check out."""
    original = b"<xml><Event>change_external_contact</Event></xml>"
    encrypted = OFFICIAL.encrypt(original)
    raw = bytearray(base64.b64decode(encrypted))
    raw[position % len(raw)] ^= 1 << bit
    try:
        result = OFFICIAL.decrypt(base64.b64encode(bytes(raw)).decode())
    except CallbackCryptoError:
        return
    assert result != original  # it decoded, but the signature check (above) is what rejects it


class TestTampering:
    def test_wrong_token(self) -> None:
        other = CallbackCrypto("x" * 32, AES_KEY, CORP)
        with pytest.raises(CallbackCryptoError) as error:
            other.verify("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", ECHO)
        assert error.value.code == CryptoErrorCode.validate_signature

    def test_replayed_with_another_timestamp(self) -> None:
        with pytest.raises(CallbackCryptoError):
            OFFICIAL.verify("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416374", "47744683", ECHO)

    def test_other_corp(self) -> None:
        with pytest.raises(CallbackCryptoError) as error:
            CallbackCrypto(TOKEN, AES_KEY, "ww0000000000000000").decrypt(ECHO)
        assert error.value.code == CryptoErrorCode.validate_receive_id

    def test_truncated(self) -> None:
        with pytest.raises(CallbackCryptoError) as error:
            OFFICIAL.decrypt(ECHO[:-8])
        assert error.value.code in (CryptoErrorCode.decode_base64, CryptoErrorCode.decrypt_aes)

    def test_not_base64(self) -> None:
        with pytest.raises(CallbackCryptoError) as error:
            OFFICIAL.decrypt("not base64 at all!!")
        assert error.value.code == CryptoErrorCode.decode_base64

    @pytest.mark.parametrize("key", ["short", AES_KEY + "A", "!" * 43])
    def test_illegal_key(self, key: str) -> None:
        with pytest.raises(CallbackCryptoError) as error:
            CallbackCrypto(TOKEN, key, CORP)
        assert error.value.code == CryptoErrorCode.illegal_aes_key


class TestXml:
    def test_cdata_and_bare_values_and_items(self) -> None:
        fields = parse_flat(
            "<xml><ChatId><![CDATA[wr1]]></ChatId><MemChangeCnt>2</MemChangeCnt>"
            "<MemChangeList><Item><![CDATA[wm1]]></Item><Item>wm2</Item></MemChangeList></xml>"
        )
        assert fields == {"ChatId": "wr1", "MemChangeCnt": "2", "MemChangeList": ["wm1", "wm2"]}

    @pytest.mark.parametrize(
        "document",
        [
            '<!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
            '<?xml version="1.0"?><!doctype xml SYSTEM "http://127.0.0.1/x"><xml/>',
            "<xml><A>unclosed</xml>",
            "<xml>" + "<A>x</A>" * 10_000 + "</xml>",
        ],
    )
    def test_refuses_unsafe_or_malformed(self, document: str) -> None:
        with pytest.raises(UnsafeXml):
            parse_flat(document)
