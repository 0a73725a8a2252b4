"""A hardened reader for WeCom's callback XML: size-capped, no DTD, no entities, flat elements only."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # hardened below: no DTD or entities, size cap

MAX_BYTES = 64 * 1024


class UnsafeXml(ValueError):
    pass


def parse_flat(document: bytes | str) -> dict[str, str | list[str]]:
    """Parse ``<xml><A>..</A><B><![CDATA[..]]></B>...</xml>`` into a dict of stripped strings.

    Repeated ``<Item>`` children (e.g. MemChangeList) become a list. Anything that carries a DTD or an
    entity declaration, or is larger than 64 KiB, is refused before it reaches the parser.
    """
    data = document.encode() if isinstance(document, str) else document
    if len(data) > MAX_BYTES:
        raise UnsafeXml("document too large")
    head = data.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise UnsafeXml("DTDs and entities are not accepted")
    try:
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise UnsafeXml(f"malformed XML: {exc}") from exc
    result: dict[str, str | list[str]] = {}
    for child in root:
        items = [item.text.strip() if item.text else "" for item in child if item.tag == "Item"]
        if items:
            result[child.tag] = items
        else:
            result[child.tag] = (child.text or "").strip()
    return result
