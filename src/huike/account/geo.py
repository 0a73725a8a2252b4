"""Offline IP → region with an ip2region xdb file (R-GEO-1): no network, no third party.

The operator configures the data file (``HUIKE_IP2REGION_XDB``); without one every IP is
``unknown``. The whole file is read into memory once per process. Region strings look like
``中国|广东省|深圳市|电信|CN`` (xdb 3) or ``中国|0|广东省|深圳市|电信`` (xdb 2); ``0`` means unknown.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog
from ip2region import searcher as xdb_searcher
from ip2region import util as xdb_util

log = structlog.get_logger(__name__)

UNKNOWN = "unknown"
PRIVATE = "内网IP"


@dataclass(frozen=True, slots=True)
class IpRegion:
    country: str | None = None
    province: str | None = None
    city: str | None = None

    @property
    def label(self) -> str:
        parts = [p for p in (self.country, self.province, self.city) if p]
        return " ".join(parts) if parts else UNKNOWN

    @property
    def territory(self) -> str | None:
        """The key of the region → salesperson table: the province, for mainland addresses only."""
        return self.province if self.country == "中国" and self.province else None


UNKNOWN_REGION = IpRegion()


def parse_region(text: str) -> IpRegion:
    fields: list[str | None] = [None if p.strip() in ("", "0") else p.strip() for p in text.split("|")]
    if len(fields) == 5 and not _is_v3(text):  # xdb 2: country|region|province|city|isp
        country, province, city = fields[0], fields[2], fields[3]
    else:  # xdb 3: country|province|city|isp|CC
        country, province, city = [*fields, None, None, None][:3]
    if PRIVATE in (country, province):
        return IpRegion(country=PRIVATE)
    return IpRegion(country=country, province=province, city=city)


def _is_v3(text: str) -> bool:
    """xdb 3 strings end in an ISO country code; xdb 2 ones in the ISP."""
    last = text.rsplit("|", 1)[-1]
    return len(last) == 2 and last.isascii() and last.isalpha() and last.isupper()


class RegionLookup:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._searchers: dict[int, xdb_searcher.Searcher] = {}
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if self.path is None:
                return
            if not self.path.is_file():
                log.warning("geo.xdb_missing")
                return
            content = xdb_util.load_content_from_file(str(self.path))
            header = xdb_util.Header(content[: xdb_util.HeaderInfoLength])
            version = xdb_util.version_from_header(header)
            if version is None:
                log.warning("geo.xdb_unsupported")
                return
            self._searchers[version.byte_num] = xdb_searcher.new_with_buffer(version, content)
            log.info("geo.xdb_loaded", ip_version=version.name, created_at=header.createdAt)

    def lookup(self, ip: str | None) -> IpRegion:
        """The region of ``ip``; private addresses are ``内网IP``; anything unknown is ``unknown``."""
        if not ip:
            return UNKNOWN_REGION
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return UNKNOWN_REGION
        if address.is_private or address.is_loopback:
            return IpRegion(country=PRIVATE)
        self._load()
        searcher = self._searchers.get(len(address.packed))
        if searcher is None:
            return UNKNOWN_REGION
        try:
            found = searcher.search(address.packed)
        except (ValueError, IndexError):
            return UNKNOWN_REGION
        return parse_region(found) if found else UNKNOWN_REGION


_lookups: dict[Path | None, RegionLookup] = {}


def region_lookup(path: Path | None) -> RegionLookup:
    """One lookup (one loaded file) per configured path and process."""
    lookup = _lookups.get(path)
    if lookup is None:
        lookup = _lookups[path] = RegionLookup(path)
    return lookup
