"""Imports every ORM model so that Base.metadata knows the whole schema (Alembic, tests)."""

from huike.core.db import Base
from huike.core.tasks import Job, Outbox, SchedulerLease
from huike.privacy.egress import EgressRecord
from huike.security.sessions import AuthSession
from huike.tenant.models import Tenant

__all__ = ["AuthSession", "Base", "EgressRecord", "Job", "Outbox", "SchedulerLease", "Tenant"]
