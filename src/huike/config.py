"""Settings: every knob comes from a HUIKE_* variable (or an optional .env); nothing connects at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUIKE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development", description="Where Huike runs; production turns on JSON logs and strict cookies."
    )
    data_dir: Path = Field(Path("var"), description="Folder for the embedded SQLite file, keys and uploads.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL. Unset: SQLite file in data_dir (embedded mode). "
        "postgresql+asyncpg://... for scale mode.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL. Set: jobs go through Redis Streams to `huike worker` processes."
    )
    max_body_bytes: int = Field(1_048_576, description="Largest request body the API accepts.")
    max_upload_bytes: int = Field(
        2_200_000,
        description="Largest body of a file upload route (an avatar: 2 MB plus the form's overhead).",
    )
    log_json: bool | None = Field(None, description="JSON logs; default on in production, off otherwise.")
    log_level: str = Field("INFO", description="Lowest log level written.")
    web_dist: Path = Field(
        Path(__file__).resolve().parents[2] / "web" / "dist",
        description="Built console assets served at /.",
    )
    job_visibility_timeout_s: float = Field(
        60.0, description="A dispatched job not finished after this long is dispatched again by the relay."
    )
    relay_interval_s: float = Field(5.0, description="How often the relay and the scheduler tick.")
    scheduler_lease_s: float = Field(30.0, description="How long a scheduler leader's lease lasts.")
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="The address WeCom and browsers reach Huike at (callback URLs)."
    )
    wecom_base_url: str | None = Field(
        None,
        description="WeCom API base. Unset: the real https://qyapi.weixin.qq.com/cgi-bin, except under "
        "`huike run`, which mounts the bundled emulator and points here at it.",
    )
    wecom_timeout_s: float = Field(10.0, description="Timeout of each call to WeCom.")
    # --- accounts, SMS and sessions (huike.account, huike.security.sessions) ---
    session_idle_timeout_s: int = Field(
        7200, description="A session unused for this long is over (R-CK-1: 2 h)."
    )
    session_absolute_lifetime_s: int = Field(
        7 * 86400, description="A session is over this long after login, used or not (R-CK-1: 7 days)."
    )
    ip2region_xdb: Path | None = Field(
        None,
        description="The ip2region xdb data file for the offline IP → region lookup at registration. "
        "Unset or missing: every region is 'unknown'.",
    )
    sms_provider: Literal["console", "aliyun"] = Field(
        "console",
        description="Who sends SMS codes: 'console' logs them (embedded mode, development; outside "
        "production also the dev banner), 'aliyun' sends them with Aliyun SMS.",
    )
    aliyun_sms_access_key_id: str | None = Field(None, description="Aliyun SMS AccessKey ID.")
    aliyun_sms_access_key_secret: SecretStr | None = Field(None, description="Aliyun SMS AccessKey secret.")
    aliyun_sms_sign_name: str | None = Field(None, description="Aliyun SMS signature name (签名).")
    aliyun_sms_template_code: str | None = Field(
        None, description="Aliyun SMS template code; the template takes one parameter, ${code}."
    )
    aliyun_sms_endpoint: str = Field(
        "https://dysmsapi.aliyuncs.com/", description="Aliyun SMS endpoint (SendSms RPC)."
    )
    sms_resend_cooldown_s: int = Field(
        60, ge=1, description="Seconds before another SMS code may be sent to the same phone (R-OTP-1)."
    )
    sms_phone_daily_cap: int = Field(
        10, description="SMS codes one phone may receive per calendar day (Asia/Shanghai)."
    )
    sms_ip_hourly_cap: int = Field(20, description="SMS code requests one IP may make per hour.")
    sms_ip_daily_cap: int = Field(50, description="SMS code requests one IP may make per calendar day.")
    wecom_login_url: str | None = Field(
        None,
        description="WeCom's web login page. Unset: https://login.work.weixin.qq.com/wwlogin/sso/login, "
        "or the emulator's page when wecom_base_url points at the emulator.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'huike.db').resolve()}"

    @property
    def mode(self) -> Literal["embedded", "scale"]:
        return "scale" if self.redis_url else "embedded"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
