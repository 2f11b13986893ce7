"""Documents families must provide, the files they sent, and their validation."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, LargeBinary, false
from sqlmodel import Field, SQLModel

from regie_tui.models.base import Source, enum_type, partial_index, version_field


class DocumentScope(StrEnum):
    FAMILY = "family"
    CHILD = "child"


class DocumentType(SQLModel, table=True):
    """A kind of document asked for: Attestation CAF, vaccins, assurance RC…"""

    __tablename__ = "document_type"
    __table_args__ = (CheckConstraint("validity_months IS NULL OR validity_months > 0", name="validity"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    scope: DocumentScope = Field(sa_type=enum_type(DocumentScope, "document_scope"))
    required: bool = Field(default=False)
    validity_months: int | None = None
    health: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # vaccins, PAI…: role matrix


class StoredFile(SQLModel, table=True):
    """File content, kept once by its SHA-256 whatever the number of documents using it."""

    __tablename__ = "stored_file"
    __table_args__ = (CheckConstraint("length(sha256) = 64", name="sha256_length"),)

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    media_type: str = Field(max_length=80)
    content: bytes = Field(sa_type=LargeBinary)


class DocumentStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"


class Document(SQLModel, table=True):
    """A document a family sent (portal or desk), waiting for or after validation."""

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="valid_range"),
        partial_index("ix_document_pending", "status", where="status = 'pending'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True, ondelete="CASCADE")
    child_id: int | None = Field(default=None, foreign_key="child.id", ondelete="CASCADE")
    document_type_id: int = Field(foreign_key="document_type.id")
    file_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    filename: str = Field(max_length=200)
    status: DocumentStatus = Field(sa_type=enum_type(DocumentStatus, "document_status"))
    source: Source = Field(sa_type=enum_type(Source, "document_source"))
    submitted_at: datetime
    valid_from: date | None = None
    valid_to: date | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="agent.id")
    decided_at: datetime | None = None
    refusal_reason: str = Field(default="", max_length=500)
    version: int = version_field()
