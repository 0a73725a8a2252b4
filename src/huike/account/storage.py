"""Where uploaded avatars live, and their declaration in the data inventory.

Files: ``<data_dir>/uploads/avatars/<tenant id>/<user id>/<random>.<ext>``. The name is random (32 hex
digits) and new for every upload, so an old URL never shows a new image and a name says nothing about
anyone; the database row (``account_profiles.avatar_file``) says which file is current. Erasure of a
user (or a tenant) removes the folder.

The inventory (F1) has no hook for object storage yet, so the prefix is declared here, with the same
vocabulary as a table (:data:`OBJECT_PREFIXES`); the checks and the RoPA can pick it up from there.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import structlog

from huike.account.models import DISPLAY
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject

log = structlog.get_logger(__name__)

AVATAR_ROOT = Path("uploads") / "avatars"
_FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")


@dataclass(frozen=True)
class ObjectPrefix:
    """An object-storage prefix declared like a table: what its objects hold, about whom, why, how
    long, and how a subject's objects are found (``{tenant_id}`` and ``{user_id}`` in the pattern)."""

    pattern: str
    category: str
    subject: Subject
    owner: Owner
    purposes: tuple[Purpose, ...]
    retention: Retention
    erasure: Erasure
    encrypted: bool = False
    region: str = "cn-mainland"
    notes: str = ""


AVATARS = ObjectPrefix(
    pattern="uploads/avatars/{tenant_id}/{user_id}/",
    category="user.account",
    subject=Subject.account_holder,
    owner=Owner.platform,
    purposes=(DISPLAY,),
    retention=Retention("account_closed", 15, Erasure.delete_row),
    erasure=Erasure.delete_row,
    notes="头像 (§一（二）4): PNG, JPEG or WebP, ≤ 2 MB, ≤ 4096 px a side, EXIF/XMP/comments stripped; "
    "served only to its owner",
)

OBJECT_PREFIXES: dict[str, ObjectPrefix] = {"account.avatars": AVATARS}


def avatar_folder(data_dir: Path, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Path:
    return data_dir / AVATAR_ROOT / str(tenant_id) / str(user_id)


def new_avatar_name(extension: str) -> str:
    return f"{secrets.token_hex(16)}.{extension}"


def avatar_path(data_dir: Path, tenant_id: uuid.UUID, user_id: uuid.UUID, name: str) -> Path:
    """The file of a stored name; a name that is not one of ours (``..``, slashes) raises ValueError."""
    if not _FILE_NAME.match(name):
        raise ValueError("not an avatar file name")
    return avatar_folder(data_dir, tenant_id, user_id) / name


def write_avatar(path: Path, data: bytes) -> None:
    """Write atomically (temporary file, then rename), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def prune_avatars(data_dir: Path, tenant_id: uuid.UUID, user_id: uuid.UUID, keep: str | None) -> int:
    """Remove every file of the user's folder but ``keep`` (old uploads, leftovers of a rollback)."""
    folder = avatar_folder(data_dir, tenant_id, user_id)
    if not folder.is_dir():
        return 0
    removed = 0
    for item in folder.iterdir():
        if item.name != keep and item.is_file():
            item.unlink(missing_ok=True)
            removed += 1
    if keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    if removed:
        log.info("account.avatar_pruned", removed=removed)
    return removed
