"""API shapes of the WeCom connection (secrets go in, never come out)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from huike.core.schemas import Schema
from huike.wecom.models import ConnectionStatus


class ConnectionIn(Schema):
    corp_id: str = Field(
        min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="企业 ID (CorpID)"
    )
    agent_id: int = Field(ge=1, le=2**31 - 1, description="自建应用的 AgentId")
    app_secret: str | None = Field(
        None, min_length=8, max_length=128, description="自建应用 Secret; omit to keep the stored one"
    )
    contact_secret: str | None = Field(
        None, min_length=8, max_length=128, description="客户联系 Secret; omit to keep the stored one"
    )


class ConnectionRead(BaseModel):
    corp_id: str
    agent_id: int
    status: ConnectionStatus
    last_error_code: str | None
    last_error_message: str | None
    app_secret_set: bool
    contact_secret_set: bool
    callback_url: str
    callback_token: str = Field(description="Paste into WeCom's callback settings (Token)")
    encoding_aes_key: str = Field(description="Paste into WeCom's callback settings (EncodingAESKey)")
    verified_at: datetime | None
    callback_verified_at: datetime | None
