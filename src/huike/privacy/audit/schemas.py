from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from huike.privacy.audit.models import ActorType, AuditResult


class AuditEventRead(BaseModel):
    """One audit event. Pseudonymous by construction: ids, codes and hashes, no personal values."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    occurred_at: datetime
    actor_type: ActorType
    actor_id: uuid.UUID | None
    actor_pseudonym: str | None
    action: str
    object_type: str
    object_id: str | None
    result: AuditResult
    ip: str | None
    ip_region: str | None
    user_agent_hash: str | None
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
