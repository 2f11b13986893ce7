"""What families send through the portal, what the régie answers, and what it publishes."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from regie_tui.codes import MailStatus
from regie_tui.models.base import created_at_field, enum_type, partial_index, version_field


class SubmissionKind(StrEnum):
    """The kinds of lines the portal sends (portal-submissions.md)."""

    CHANGE = "change"
    NEW_CHILD = "new_child"
    ENROLLMENT = "enrolment"
    BOOKING = "booking"
    DOCUMENT = "document"
    MESSAGE = "message"
    PAYMENT = "payment"
    LOGIN = "login"


class SubmissionStatus(StrEnum):
    PENDING = "pending"  # in the bannette
    ACCEPTED = "accepted"  # applied (a message: dealt with)
    REFUSED = "refused"
    RECORDED = "recorded"  # straight to the history: a login, a refused online payment


class Submission(SQLModel, table=True):
    """One accepted line of a portal file: an item of the bannette until decided.

    ``payload`` holds the kind's own keys as the portal sent them, except a document's
    content, which is kept once in ``stored_file`` (``document_id`` points to it).
    ``content_sha256`` fingerprints the whole line, so that the same ``portal_id``
    sent again is recognised as known (same content) or rejected (other content).
    """

    __table_args__ = (
        # Covering, in family order: the bannette groups, lists and counts its pending items
        # from this index alone, whatever the number of decided ones.
        partial_index("ix_submission_pending", "family_id", "submitted_at", "id", "kind", where="status = 'pending'"),
        Index("ix_submission_family_submitted", "family_id", "submitted_at"),
        CheckConstraint("length(portal_id) between 1 and 64", name="portal_id_length"),
    )

    id: int | None = Field(default=None, primary_key=True)
    portal_id: str = Field(max_length=64, unique=True)
    content_sha256: str = Field(max_length=64)
    kind: SubmissionKind = Field(sa_type=enum_type(SubmissionKind, "submission_kind"))
    family_id: int = Field(foreign_key="family.id", ondelete="CASCADE")
    account: str = Field(max_length=120)
    submitted_at: datetime
    received_at: datetime = created_at_field()
    status: SubmissionStatus = Field(sa_type=enum_type(SubmissionStatus, "submission_status"))
    summary: str = Field(max_length=300, description="one French line for lists and searches")
    payload: dict[str, Any] = Field(sa_type=JSON)
    activity_id: int | None = Field(default=None, foreign_key="activity.id", description="enrolment, booking")
    document_id: int | None = Field(default=None, foreign_key="document.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")
    decided_by_id: int | None = Field(default=None, foreign_key="agent.id")
    decided_at: datetime | None = None
    reason: str = Field(default="", max_length=500)
    version: int = version_field()


class PortalImport(SQLModel, table=True):
    """One run of `regie inbox import`: the file (kept once by its hash) and its summary."""

    __tablename__ = "portal_import"

    id: int | None = Field(default=None, primary_key=True)
    file_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64, index=True)
    filename: str = Field(max_length=200)
    imported_at: datetime = created_at_field()
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    read: int
    stored: int
    known: int
    rejected: int


class RefusalTemplate(SQLModel, table=True):
    """A ready-made French reason for refusing an item (of one kind, or of any)."""

    __tablename__ = "refusal_template"

    id: int | None = Field(default=None, primary_key=True)
    kind: SubmissionKind | None = Field(default=None, sa_type=enum_type(SubmissionKind, "refusal_template_kind"))
    text: str = Field(max_length=500)
    position: int = Field(default=0)
    active: bool = Field(default=True)


class OutboxMail(SQLModel, table=True):
    """An e-mail to a family, written with the decision that caused it, sent by `regie mail send`."""

    __tablename__ = "outbox_mail"
    __table_args__ = (partial_index("ix_outbox_mail_waiting", "status", "id", where="status <> 'sent'"),)

    id: int | None = Field(default=None, primary_key=True)
    family_id: int | None = Field(default=None, foreign_key="family.id", index=True, ondelete="CASCADE")
    to_address: str = Field(max_length=200)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    created_at: datetime = created_at_field()
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    status: MailStatus = Field(sa_type=enum_type(MailStatus, "mail_status"))
    attempts: int = Field(default=0)
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    error: str = Field(default="", max_length=1000)


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
    withdrawn_at: datetime | None = None


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
    withdrawn_at: datetime | None = None
