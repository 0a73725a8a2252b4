"""Writes a small ip2region xdb (structure 3, IPv4) for the tests: the same binary layout the official
maker produces, so the real searcher (py-ip2region) reads it. Segments are split at /16 boundaries
because the vector index is keyed by the first two bytes.

Run as a script to write one: ``python -m tests.account.xdb_maker out.xdb``."""

from __future__ import annotations

import ipaddress
import struct
import sys
import time
from collections.abc import Iterable
from pathlib import Path

HEADER = 256
VECTOR_ROWS = VECTOR_COLS = 256
VECTOR_SIZE = 8
SEGMENT_SIZE = 14  # start (4) + end (4) + data length (2) + data pointer (4)

# (first, last, region) in the xdb 3 form country|province|city|isp|CC
SAMPLE: tuple[tuple[str, str, str], ...] = (
    ("60.30.0.0", "60.30.255.255", "中国|天津|天津市|联通|CN"),
    ("223.5.5.0", "223.5.5.255", "中国|浙江省|杭州市|阿里云|CN"),
    ("113.87.0.0", "113.88.255.255", "中国|广东省|深圳市|电信|CN"),
    ("8.8.8.0", "8.8.8.255", "美国|0|0|Level3|US"),
)


def _int(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def _split(first: int, last: int) -> Iterable[tuple[int, int]]:
    while first <= last:
        block_end = first | 0xFFFF
        end = min(block_end, last)
        yield first, end
        first = end + 1


def make_xdb(path: Path, segments: Iterable[tuple[str, str, str]] = SAMPLE) -> Path:
    pieces = sorted(
        (start, end, region)
        for first, last, region in segments
        for start, end in _split(_int(first), _int(last))
    )
    data = bytearray()
    data_ptr: dict[str, tuple[int, int]] = {}
    base = HEADER + VECTOR_ROWS * VECTOR_COLS * VECTOR_SIZE
    for _, _, region in pieces:
        if region not in data_ptr:
            encoded = region.encode()
            data_ptr[region] = (base + len(data), len(encoded))
            data += encoded
    index_start = base + len(data)
    index = bytearray()
    vector = bytearray(VECTOR_ROWS * VECTOR_COLS * VECTOR_SIZE)
    for n, (start, end, region) in enumerate(pieces):
        ptr, length = data_ptr[region]
        index += struct.pack("<IIHI", start, end, length, ptr)
        offset = index_start + n * SEGMENT_SIZE
        cell = ((start >> 24) * VECTOR_COLS + ((start >> 16) & 0xFF)) * VECTOR_SIZE
        first_ptr = struct.unpack_from("<I", vector, cell)[0]
        struct.pack_into("<II", vector, cell, first_ptr or offset, offset + SEGMENT_SIZE)
    index_end = index_start + max(0, len(pieces) - 1) * SEGMENT_SIZE
    header = bytearray(HEADER)
    # version 3, index policy 1 (vector), created at, start/end index pointers, IPv4, 4-byte pointers
    struct.pack_into("<HHIIIHH", header, 0, 3, 1, int(time.time()), index_start, index_end, 4, 4)
    path.write_bytes(bytes(header) + bytes(vector) + bytes(data) + bytes(index))
    return path


if __name__ == "__main__":
    make_xdb(Path(sys.argv[1]))
