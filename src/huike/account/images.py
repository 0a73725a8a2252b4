"""Avatar images without an imaging library: the type from the magic bytes (never the file name or
the declared content type), the size from the header, and the metadata stripped.

What is stripped: EXIF (which may carry a GPS position, the camera and the time a photo was taken),
XMP, comments and text chunks. Kept: what decoding needs (colour profile, transparency, gamma,
animation). The pixels are not re-encoded (no Pillow in the dependency set); the structure is walked
chunk by chunk, so a file that does not parse is refused as corrupt.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from huike.account.errors import AvatarInvalid, AvatarType

MAX_SIDE = 4096

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG chunks kept: critical ones, and ancillary ones that decoding uses (no text, time or EXIF)
PNG_KEEP = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT"}
    | {b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT"}
)
# JPEG segments kept before the scan: APP0 (JFIF), APP2 (ICC profile), APP14 (Adobe colour transform)
# and everything that is not an APPn or a comment (tables, frame header, restart interval)
JPEG_DROP = frozenset({0xE1, *range(0xE3, 0xEE), 0xEF, 0xFE})
JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
WEBP_DROP = frozenset({b"EXIF", b"XMP "})


@dataclass(frozen=True, slots=True)
class Image:
    kind: str  # png, jpeg, webp
    width: int
    height: int
    data: bytes  # metadata stripped

    @property
    def extension(self) -> str:
        return {"png": "png", "jpeg": "jpg", "webp": "webp"}[self.kind]

    @property
    def content_type(self) -> str:
        return f"image/{self.kind}"


def sniff(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``webp`` or None, from the first bytes."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _corrupt() -> AvatarInvalid:
    return AvatarInvalid(reason="corrupt", max_side=MAX_SIDE)


def _png(data: bytes) -> tuple[int, int, bytes]:
    out = bytearray(PNG_SIGNATURE)
    offset, size = len(PNG_SIGNATURE), None
    while True:
        if offset + 12 > len(data):
            raise _corrupt()
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise _corrupt()
        if size is None:
            if kind != b"IHDR" or length < 8:
                raise _corrupt()
            size = struct.unpack(">II", data[offset + 8 : offset + 16])
        if kind in PNG_KEEP:
            out += data[offset:end]
        offset = end
        if kind == b"IEND":
            break
    assert size is not None
    return size[0], size[1], bytes(out)


def _jpeg(data: bytes) -> tuple[int, int, bytes]:
    out = bytearray(data[:2])
    offset, size = 2, None
    while True:
        if offset + 2 > len(data) or data[offset] != 0xFF:
            raise _corrupt()
        while offset < len(data) and data[offset] == 0xFF:  # fill bytes before a marker
            offset += 1
        if offset >= len(data):
            raise _corrupt()
        marker = data[offset]
        offset += 1
        if marker == 0xD9 or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            raise _corrupt()  # an end or a restart before the scan
        if offset + 2 > len(data):
            raise _corrupt()
        (length,) = struct.unpack(">H", data[offset : offset + 2])
        end = offset + length
        if length < 2 or end > len(data):
            raise _corrupt()
        if marker in JPEG_SOF:
            if length < 7:
                raise _corrupt()
            height, width = struct.unpack(">HH", data[offset + 3 : offset + 7])
            size = (width, height)
        if marker not in JPEG_DROP:
            out += bytes((0xFF, marker)) + data[offset:end]
        offset = end
        if marker == 0xDA:  # start of scan: the entropy-coded data and the rest follow as they are
            out += data[offset:]
            break
    if size is None:
        raise _corrupt()
    return size[0], size[1], bytes(out)


def _webp(data: bytes) -> tuple[int, int, bytes]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data) or riff_size < 4:
        raise _corrupt()
    body = data[12 : 8 + riff_size]
    chunks: list[bytes] = []
    offset, size = 0, None
    while offset < len(body):
        if offset + 8 > len(body):
            raise _corrupt()
        kind = body[offset : offset + 4]
        (length,) = struct.unpack("<I", body[offset + 4 : offset + 8])
        payload = body[offset + 8 : offset + 8 + length]
        if len(payload) != length:
            raise _corrupt()
        padded = length + (length & 1)
        chunk = bytearray(body[offset : offset + 8 + padded])
        if kind == b"VP8X" and length >= 10:
            chunk[8] &= ~0x0C & 0xFF  # no EXIF (0x08), no XMP (0x04) any more
            size = (int.from_bytes(payload[4:7], "little") + 1, int.from_bytes(payload[7:10], "little") + 1)
        elif kind == b"VP8 " and size is None and length >= 10:
            if payload[3:6] != b"\x9d\x01\x2a":
                raise _corrupt()
            width, height = struct.unpack("<HH", payload[6:10])
            size = (width & 0x3FFF, height & 0x3FFF)
        elif kind == b"VP8L" and size is None and length >= 5:
            if payload[0] != 0x2F:
                raise _corrupt()
            bits = int.from_bytes(payload[1:5], "little")
            size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        if kind not in WEBP_DROP:
            chunks.append(bytes(chunk))
        offset += 8 + padded
    if size is None:
        raise _corrupt()
    content = b"WEBP" + b"".join(chunks)
    return size[0], size[1], b"RIFF" + struct.pack("<I", len(content)) + content


def read_image(data: bytes) -> Image:
    """The image in ``data``: :class:`AvatarType` unless its bytes are PNG, JPEG or WebP;
    :class:`AvatarInvalid` if it does not parse or a side is 0 or over :data:`MAX_SIDE`."""
    kind = sniff(data)
    if kind is None:
        raise AvatarType()
    parse = {"png": _png, "jpeg": _jpeg, "webp": _webp}[kind]
    try:
        width, height, stripped = parse(data)
    except (struct.error, IndexError):
        raise _corrupt() from None
    if width <= 0 or height <= 0:
        raise _corrupt()
    if width > MAX_SIDE or height > MAX_SIDE:
        raise AvatarInvalid(reason="too_many_pixels", max_side=MAX_SIDE, width=width, height=height)
    return Image(kind, width, height, stripped)
