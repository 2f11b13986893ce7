"""The audit log: who changed what, when, with the values before and after."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from regie_tui.clock import utc_now
from regie_tui.models.base import Source, enum_type


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_family_at", "family_id", "at"),
        Index("ix_audit_entry_entity", "entity", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    source: Source = Field(sa_type=enum_type(Source, "audit_source"))
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    family_id: int | None = Field(default=None, foreign_key="family.id")
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
