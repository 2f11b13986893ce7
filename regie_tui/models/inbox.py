"""What families send through the portal and the service publishes to them."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from regie_tui.models.base import enum_type, partial_index, version_field


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class ChangeRequest(SQLModel, table=True):
    """A portal edit of one field of the family file, saved as a request.

    ``entity_id`` is empty when the request creates the entity (a new child…).
    """

    __tablename__ = "change_request"
    __table_args__ = (partial_index("ix_change_request_pending", "status", where="status = 'pending'"),)

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True, ondelete="CASCADE")
    entity: str = Field(max_length=40, description="family, guardian, child, authorized_person…")
    entity_id: int | None = None
    field: str = Field(max_length=60)
    old_value: str = Field(default="", max_length=1000)
    new_value: str = Field(max_length=1000)
    status: RequestStatus = Field(sa_type=enum_type(RequestStatus, "change_request_status"))
    submitted_at: datetime
    decided_by_id: int | None = Field(default=None, foreign_key="agent.id")
    decided_at: datetime | None = None
    reason: str = Field(default="", max_length=500)
    version: int = version_field()


class MessageDirection(StrEnum):
    INCOMING = "incoming"  # from the family
    OUTGOING = "outgoing"  # from the service


class Message(SQLModel, table=True):
    """A message through 'Contacter la structure', or the service's answer."""

    __table_args__ = (
        CheckConstraint("length(subject) > 0", name="subject_not_empty"),
        partial_index("ix_message_unread", "direction", where="read_at IS NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True, ondelete="CASCADE")
    direction: MessageDirection = Field(sa_type=enum_type(MessageDirection, "message_direction"))
    recipient: str = Field(default="", max_length=120)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=10_000)
    sent_at: datetime
    read_at: datetime | None = None
    read_by_id: int | None = Field(default=None, foreign_key="agent.id")
    reply_to_id: int | None = Field(default=None, foreign_key="message.id")


class News(SQLModel, table=True):
    """An actualité shown in the portal's banner."""

    __table_args__ = (CheckConstraint("published_to IS NULL OR published_to >= published_from", name="range"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    body: str = Field(max_length=5000)
    published_from: date
    published_to: date | None = None


class StructureDocument(SQLModel, table=True):
    """A file the service publishes (projet éducatif, planning, fiche sanitaire…)."""

    __tablename__ = "structure_document"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    file_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    filename: str = Field(max_length=200)
    published_on: date
    to_return: bool = Field(default=False, description="families must send it back")
