"""What the régie publishes on the portal: structure documents and news (the banner).

A document's file is kept once in ``stored_file`` by its SHA-256, like the files families
send; its type is read from its first bytes, and a name saying another type (a "PDF" that
is not one) is refused. Nothing is deleted:
withdrawing sets ``withdrawn_at``, and the lists show withdrawn items with their state.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.clock import utc_now
from regie_tui.errors import NotFound, RegieError, system_error
from regie_tui.models import News, StoredFile, StructureDocument
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import MAX_FILE_BYTES, check_file_content, check_text
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import require_agent

#: First bytes of the accepted files, and their media type (as the portal import checks them).
MEDIA_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


class PublicationState(StrEnum):
    ONLINE = "online"
    UPCOMING = "upcoming"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


STATE_LABELS = {
    PublicationState.ONLINE: "en ligne",
    PublicationState.UPCOMING: "à venir",
    PublicationState.ENDED: "terminée",
    PublicationState.WITHDRAWN: "retirée",
}


@dataclass(frozen=True)
class DocumentView:
    id: int
    title: str
    description: str
    filename: str
    media_type: str
    size: int
    published_on: date
    to_return: bool
    withdrawn_at: datetime | None
    state: PublicationState

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class NewsView:
    id: int
    title: str
    body: str
    published_from: date
    published_to: date | None
    withdrawn_at: datetime | None
    state: PublicationState

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Publications:
    documents: list[DocumentView]
    news: list[NewsView]


# ------------------------------------------------------------------------ states


def _document_state(published_on: date, withdrawn_at: datetime | None, today: date) -> PublicationState:
    if withdrawn_at is not None:
        return PublicationState.WITHDRAWN
    return PublicationState.UPCOMING if published_on > today else PublicationState.ONLINE


def _news_state(
    published_from: date, published_to: date | None, withdrawn_at: datetime | None, today: date
) -> PublicationState:
    if withdrawn_at is not None:
        return PublicationState.WITHDRAWN
    if published_from > today:
        return PublicationState.UPCOMING
    if published_to is not None and published_to < today:
        return PublicationState.ENDED
    return PublicationState.ONLINE


# ------------------------------------------------------------------------- lists


def list_documents(db: Session, *, today: date, current_only: bool = False) -> list[DocumentView]:
    """Structure documents, newest first (withdrawn ones too, unless ``current_only``)."""
    query = (
        select(StructureDocument, StoredFile.size, StoredFile.media_type)
        .join(StoredFile, col(StoredFile.sha256) == col(StructureDocument.file_sha256))
        .order_by(col(StructureDocument.published_on).desc(), col(StructureDocument.id).desc())
    )
    if current_only:
        query = query.where(col(StructureDocument.withdrawn_at).is_(None), StructureDocument.published_on <= today)
    return [
        DocumentView(
            id=id_of(d),
            title=d.title,
            description=d.description,
            filename=d.filename,
            media_type=media_type,
            size=size,
            published_on=d.published_on,
            to_return=d.to_return,
            withdrawn_at=d.withdrawn_at,
            state=_document_state(d.published_on, d.withdrawn_at, today),
        )
        for d, size, media_type in db.exec(query)
    ]


def _news_view(n: News, today: date) -> NewsView:
    return NewsView(
        id=id_of(n),
        title=n.title,
        body=n.body,
        published_from=n.published_from,
        published_to=n.published_to,
        withdrawn_at=n.withdrawn_at,
        state=_news_state(n.published_from, n.published_to, n.withdrawn_at, today),
    )


def list_news(db: Session, *, today: date, current_only: bool = False) -> list[NewsView]:
    """News, latest start first (all of them, or only those the portal shows ``today``)."""
    query = select(News).order_by(col(News.published_from).desc(), col(News.id).desc())
    if current_only:
        query = query.where(
            col(News.withdrawn_at).is_(None),
            News.published_from <= today,
            (col(News.published_to).is_(None)) | (col(News.published_to) >= today),
        )
    return [_news_view(n, today) for n in db.exec(query)]


def list_publications(db: Session, *, today: date) -> Publications:
    """Everything published, current and withdrawn, with each item's state on ``today``."""
    return Publications(documents=list_documents(db, today=today), news=list_news(db, today=today))


def portal_today(db: Session, *, today: date) -> Publications:
    """What the portal shows on ``today``: current documents, and news in their dates, not withdrawn."""
    return Publications(
        documents=list_documents(db, today=today, current_only=True),
        news=list_news(db, today=today, current_only=True),
    )


# ------------------------------------------------------------------------ checks


def read_publishable_file(path: str | Path) -> tuple[str, bytes, str]:
    """(file name, content, media type) of a file fit to publish, or a French refusal: a
    readable file of 10 Mo at most, a name fit to store, and its content the PDF or image
    it says it is (``validation.check_file_content``)."""
    shown = str(path) if len(str(path)) <= 80 else f"{str(path)[:80]}…"
    try:
        file = Path(path).expanduser()
        name = file.name
        if not file.exists():
            raise RegieError(f"Fichier introuvable : « {shown} ».")
        if not file.is_file():
            raise RegieError(f"« {shown} » n'est pas un fichier.")
        check_text(name, "Nom de fichier", column=StructureDocument.filename)
        size = file.stat().st_size
        if size == 0:
            raise RegieError(f"Le fichier « {name} » est vide.")
        if size > MAX_FILE_BYTES:
            megabytes = formatting.number(round(Decimal(size) / 1024 / 1024, 1))
            raise RegieError(f"Le fichier « {name} » est trop volumineux ({megabytes} Mo) : 10 Mo au plus.")
        content = file.read_bytes()
    except (OSError, ValueError) as exc:  # a name too long for the system, a NUL in it, no right to read…
        reason = system_error(exc) if isinstance(exc, OSError) else "chemin invalide"
        raise RegieError(f"Impossible de lire « {shown} » : {reason}.") from None
    return name, content, check_file_content(content, name)


def _store(db: Session, content: bytes, media_type: str) -> str:
    """The file's SHA-256, its content stored once."""
    sha256 = hashlib.sha256(content).hexdigest()
    if db.get(StoredFile, sha256) is None:
        db.add(StoredFile(sha256=sha256, size=len(content), media_type=media_type, content=content))
        db.flush()
    return sha256


# --------------------------------------------------------------------- changes


def publish_document(
    db: Session,
    *,
    path: str | Path,
    title: str,
    agent_id: int,
    today: date,
    description: str = "",
    to_return: bool = False,
) -> int:
    """Publish the file at ``path`` as a structure document from ``today``; its id."""
    require_agent(db, agent_id, Permission.PUBLISH)
    title = check_text(title, "Titre", column=StructureDocument.title)
    description = check_text(
        description, "Description", column=StructureDocument.description, required=False, multiline=True
    )
    filename, content, media_type = read_publishable_file(path)
    sha256 = _store(db, content, media_type)
    document = StructureDocument(
        title=title,
        description=description,
        file_sha256=sha256,
        filename=filename,
        published_on=today,
        to_return=to_return,
    )
    db.add(document)
    db.flush()
    audit.record(
        db,
        action="publish",
        entity="structure_document",
        entity_id=document.id,
        agent_id=agent_id,
        after={
            "title": title,
            "file": filename,
            "sha256": sha256,
            "media_type": media_type,
            "published_on": today.isoformat(),
            "to_return": to_return,
        },
    )
    return id_of(document)


def add_news(
    db: Session,
    *,
    title: str,
    body: str,
    published_from: date,
    published_to: date,
    agent_id: int,
    today: date,
) -> int:
    """Add a news item shown from ``published_from`` to ``published_to`` inclusive; its id."""
    require_agent(db, agent_id, Permission.PUBLISH)
    title = check_text(title, "Titre", column=News.title)
    body = check_text(body, "Texte", column=News.body, multiline=True)
    if published_to < published_from:
        raise RegieError(
            f"La date de fin ({formatting.short_date(published_to)}) précède la date de début "
            f"({formatting.short_date(published_from)})."
        )
    if published_to < today:
        raise RegieError(
            f"La date de fin ({formatting.short_date(published_to)}) est passée : "
            "l'actualité ne serait jamais affichée."
        )
    news = News(title=title, body=body, published_from=published_from, published_to=published_to)
    db.add(news)
    db.flush()
    audit.record(
        db,
        action="publish",
        entity="news",
        entity_id=news.id,
        agent_id=agent_id,
        after={"title": title, "published_from": published_from.isoformat(), "published_to": published_to.isoformat()},
    )
    return id_of(news)


def withdraw_news(db: Session, *, news_id: int, agent_id: int) -> None:
    """Take a news item off the portal now (it stays listed as withdrawn)."""
    news = db.get(News, news_id, with_for_update=True)
    if news is None:
        raise NotFound(f"Actualité n° {news_id} introuvable.")
    _withdraw(db, news, entity="news", what=f"L'actualité « {news.title} » est déjà retirée", agent_id=agent_id)


def withdraw_document(db: Session, *, document_id: int, agent_id: int) -> None:
    """Take a structure document off the portal now (it stays listed as withdrawn)."""
    document = db.get(StructureDocument, document_id, with_for_update=True)
    if document is None:
        raise NotFound(f"Document de la structure n° {document_id} introuvable.")
    what = f"Le document « {document.title} » est déjà retiré"
    _withdraw(db, document, entity="structure_document", what=what, agent_id=agent_id)


def _withdraw(db: Session, row: News | StructureDocument, *, entity: str, what: str, agent_id: int) -> None:
    """Withdraw a publication now, once, audited."""
    require_agent(db, agent_id, Permission.PUBLISH)
    if row.withdrawn_at is not None:
        raise RegieError(f"{what} (depuis le {formatting.local_datetime(row.withdrawn_at)}).")
    row.withdrawn_at = utc_now()
    db.add(row)
    audit.record(
        db,
        action="withdraw",
        entity=entity,
        entity_id=row.id,
        agent_id=agent_id,
        before={"withdrawn_at": None},
        after={"withdrawn_at": row.withdrawn_at.isoformat(), "title": row.title},
    )
    db.flush()
