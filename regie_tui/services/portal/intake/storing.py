"""Writing a batch of accepted lines with a handful of multi-row INSERTs: the files (kept once
by SHA-256), documents, messages, portal logins, audit entries, then the submissions."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from regie_tui.models import Document, Message, PortalLogin, Source, StoredFile, Submission
from regie_tui.services.portal.intake.kinds import Prepared
from regie_tui.services.trust import audit

# Without render_nulls, the ORM leaves None values out of an INSERT: rows alternating None
# and a value (document_id, child_id…) would then go one statement per row.
BULK = {"render_nulls": True}
DOCUMENT_KEY = ("family_id", "child_id", "document_type_id", "file_sha256", "filename", "submitted_at")
MESSAGE_KEY = ("family_id", "recipient", "subject", "body", "sent_at")


def store_files(db: Session, files: Iterable[tuple[str, int, str, bytes]]) -> None:
    """Insert the files not stored yet (kept once by SHA-256)."""
    wanted = {sha: (sha, size, media, content) for sha, size, media, content in files}
    if not wanted:
        return
    present = set(db.exec(select(col(StoredFile.sha256)).where(col(StoredFile.sha256).in_(wanted))).all())
    rows = [
        {"sha256": sha, "size": size, "media_type": media, "content": content}
        for sha, (_, size, media, content) in wanted.items()
        if sha not in present
    ]
    if rows:
        db.exec(insert(StoredFile), params=rows, execution_options=BULK)


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _insert_with_ids(
    db: Session, model: type[Document] | type[Message], rows: list[dict[str, Any]], key: tuple[str, ...]
) -> list[int]:
    """Insert ``rows`` in multi-row statements and return their ids, in the order of ``rows``.

    RETURNING gives rows in no guaranteed order (asking SQLAlchemy to sort them makes it
    insert one row at a time on SQLite): each id is matched to its row by the row's own
    values instead; rows equal in all of them are interchangeable.
    """
    statement = insert(model).returning(*(getattr(model, name) for name in ("id", *key)))
    ids: dict[tuple[Any, ...], list[int]] = {}
    for returned in db.exec(statement, params=rows, execution_options=BULK):
        ids.setdefault(tuple(_comparable(x) for x in returned[1:]), []).append(returned[0])
    return [ids[tuple(_comparable(row[name]) for name in key)].pop() for row in rows]


def write_batch(db: Session, prepared: list[Prepared]) -> None:
    """Insert the rows of a batch's accepted lines, each submission pointing to its document or message."""
    store_files(db, (p.file for p in prepared if p.file))
    documents = [(p, p.document) for p in prepared if p.document is not None]
    if documents:
        ids = _insert_with_ids(db, Document, [row for _, row in documents], DOCUMENT_KEY)
        for (p, _), document_id in zip(documents, ids, strict=True):
            p.submission["document_id"] = document_id
    messages = [(p, p.message) for p in prepared if p.message is not None]
    if messages:
        ids = _insert_with_ids(db, Message, [row for _, row in messages], MESSAGE_KEY)
        for (p, _), message_id in zip(messages, ids, strict=True):
            p.submission["message_id"] = message_id
    logins = [
        {"account_id": p.login_account_id, "at": p.submission["submitted_at"], "succeeded": True}
        for p in prepared
        if p.login_account_id is not None
    ]
    if logins:
        db.exec(insert(PortalLogin), params=logins, execution_options=BULK)
    for p in prepared:
        for entry in p.audits:
            audit.record(db, source=Source.PORTAL, **entry)
    rows = [{"activity_id": None, "document_id": None, "message_id": None, **p.submission} for p in prepared]
    if rows:
        db.exec(insert(Submission), params=rows, execution_options=BULK)
    db.flush()
