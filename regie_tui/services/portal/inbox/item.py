"""A bannette item as the agent decides it: its kind's lines checked against the file as it
is now (a change's current value, an enrollment's group, a booking's days under the rules,
a document's proposed validity), who decided it, and a document's file."""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.clock import PARIS
from regie_tui.errors import NotFound, RegieError
from regie_tui.labels import HEALTH_KIND
from regie_tui.models import (
    Agent,
    Child,
    Document,
    DocumentType,
    Family,
    StoredFile,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from regie_tui.services.common.sql import id_of
from regie_tui.services.families.fields import ENTITY_LABELS, field_spec, shown
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo


@dataclass(frozen=True)
class DocumentInfo:
    document_id: int
    type_name: str
    person: str
    filename: str
    media_type: str
    size: int
    sha256: str
    valid_from: date
    valid_to: date
    health: bool = False  # a health document (vaccins, fiche sanitaire, PAI)
    readable: bool = True  # its content, for this agent's role (role matrix)


@dataclass
class ItemDetail:
    id: int
    kind: str
    status: str
    family_id: int
    family_name: str
    account: str
    submitted_at: datetime
    summary: str
    version: int
    lines: list[tuple[str, str]] = field(default_factory=list)  # (French label, value) shown as is
    conflict: str = ""  # a change whose field no longer holds the old value, in French
    cells: list[Any] = field(default_factory=list)  # booking_rules.CellCheck of a booking request
    enrollment: Any = None  # enrollments.EnrollmentCheck of an enrollment request
    document: DocumentInfo | None = None
    body: str = ""  # a message's text
    decided: str = ""  # who decided, when, and why (for a decided item)


def get_submission(db: Session, submission_id: int) -> Submission:
    """The item, whatever its state (else ``NotFound``)."""
    item = db.get(Submission, submission_id)
    if item is None:
        raise NotFound(f"Aucun élément n° {submission_id} dans la bannette.")
    return item


#: What a role without health data reads instead of a health note's values (role matrix).
HEALTH_HIDDEN = "(information sanitaire : accès réservé)"


def is_health_request(kind: SubmissionKind, payload: dict[str, Any]) -> bool:
    """A change of, or an addition to, a child's health notes."""
    return kind == SubmissionKind.CHANGE and payload.get("entity") == "health_note"


def item_detail(db: Session, *, submission_id: int, agent: AgentInfo, now: datetime) -> ItemDetail:
    """Everything the agent needs to decide the item, checked against the file as it is now;
    a health request's values only for the roles the matrix lets read health data."""
    agent.require(Permission.DESK)
    item = get_submission(db, submission_id)
    family = db.get(Family, item.family_id)
    assert family is not None
    detail = ItemDetail(
        id=submission_id,
        kind=item.kind.value,
        status=item.status.value,
        family_id=item.family_id,
        family_name=family.name,
        account=item.account,
        submitted_at=item.submitted_at,
        summary=item.summary,
        version=item.version,
    )
    if is_health_request(item.kind, item.payload) and not agent.may(Permission.HEALTH_DATA):
        detail.lines += [("Fiche", ENTITY_LABELS["health_note"]), ("Valeurs", HEALTH_HIDDEN)]
    else:
        _kind_detail(db, detail, item, agent=agent, now=now)
    if item.status != SubmissionStatus.PENDING:
        detail.decided = _decided(db, item)
    return detail


def _kind_detail(db: Session, detail: ItemDetail, item: Submission, *, agent: AgentInfo, now: datetime) -> None:
    """What the item's kind asks, as the agent reads it."""
    payload, kind = item.payload, item.kind
    if kind == SubmissionKind.CHANGE:
        _change_detail(db, detail, payload)
    elif kind == SubmissionKind.NEW_CHILD:
        detail.lines += [
            ("Prénom", payload["first_name"]),
            ("Nom", payload["last_name"]),
            ("Né(e) le", formatting.short_date(date.fromisoformat(payload["birth_date"]))),
            ("Sexe", "Fille" if payload["sex"] == "F" else "Garçon"),
            ("École", payload.get("school") or "—"),
            ("Classe", payload.get("school_class") or "—"),
        ]
    elif kind == SubmissionKind.ENROLLMENT:
        _enrollment_detail(db, detail, payload)
    elif kind == SubmissionKind.BOOKING:
        from regie_tui.services.bookings.rules import check_cells

        child = db.get(Child, payload["child"])
        detail.lines.append(("Enfant", f"{child.first_name} {child.last_name}" if child else "?"))
        detail.cells = check_cells(
            db, child_id=payload["child"], cells=requested_cells(payload), now=now, asked_at=item.submitted_at
        )
    elif kind == SubmissionKind.DOCUMENT:
        document = document_info(db, item)
        if document.health and not agent.may(Permission.HEALTH_DATA):  # not even its file's name
            document = replace(document, readable=False, filename=HEALTH_HIDDEN, media_type="", size=0)
        detail.document = document
    elif kind == SubmissionKind.MESSAGE:
        detail.lines += [("Objet", payload["subject"]), ("Destinataire", payload.get("recipient") or "—")]
        detail.body = payload["body"]
    elif kind == SubmissionKind.PAYMENT:
        detail.lines += [
            ("Facture", payload["invoice"]),
            ("Montant", formatting.money(payload["amount_cents"])),
            ("Payé le", formatting.local_datetime(datetime.fromisoformat(payload["paid_at"]))),
            ("Référence PayFiP", payload["reference"]),
        ]


def _enrollment_detail(db: Session, detail: ItemDetail, payload: dict[str, Any]) -> None:
    from regie_tui.services.families.enrollments import check_enrollment

    detail.enrollment = check_enrollment(
        db,
        child_id=payload["child"],
        activity_id=payload["activity"],
        age_group_id=payload["age_group"],
        start_date=payload_day(payload.get("start_date")),
        end_date=payload_day(payload.get("end_date")),
    )
    if payload.get("comment"):
        detail.lines.append(("Commentaire", payload["comment"]))


def _decided(db: Session, item: Submission) -> str:
    """Who decided the item, when, and why."""
    who = db.get(Agent, item.decided_by_id) if item.decided_by_id else None
    word = {"accepted": "Acceptée", "refused": "Refusée", "recorded": "Enregistrée"}[item.status.value]
    decided = f"{word} par {who.display_name if who else 'le système'}, le {formatting.local_datetime(item.decided_at)}"
    return decided + (f" : {item.reason}" if item.reason else "")


def is_health_document(db: Session, document_type_id: int) -> bool:
    return bool(db.exec(select(DocumentType.health).where(DocumentType.id == document_type_id)).first())


def payload_day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def requested_cells(payload: dict[str, Any]) -> list[Any]:
    """The cells a booking request asks for, as the booking rules take them."""
    from regie_tui.services.bookings.cells import CellRequest

    return [
        CellRequest(day=date.fromisoformat(c["day"]), unit_id=c["unit"], action=c["action"]) for c in payload["cells"]
    ]


def _change_detail(db: Session, detail: ItemDetail, payload: dict[str, Any]) -> None:
    entity, entity_id, name = payload["entity"], payload.get("entity_id"), payload["field"]
    detail.lines.append(("Fiche", f"{ENTITY_LABELS[entity]}{_who(db, entity, entity_id)}"))
    if entity_id is None:
        detail.lines.append(("Ajout", ""))
        for key, value in payload["new"].items():
            if key == "child":
                detail.lines.append(("Enfant", _who(db, "child", value).removeprefix(" — ") or "?"))
                continue
            spec = field_spec(entity, key)
            text = HEALTH_KIND.get(value, value) if key == "kind" and isinstance(value, str) else value
            detail.lines.append((spec.label if spec else key, shown(text)))
        return
    from regie_tui.services.families.edit import read_field

    spec = field_spec(entity, name)
    now_value = read_field(db, entity=entity, entity_id=entity_id, field=name)
    detail.lines += [
        ("Champ", spec.label if spec else name),
        ("Valeur vue par la famille", shown(payload["old"])),
        ("Valeur demandée", shown(payload["new"])),
        ("Valeur actuelle", shown(now_value)),
    ]
    if not same_value(now_value, payload["old"]):
        detail.conflict = (
            f"Le champ a changé depuis la demande : il vaut « {shown(now_value)} », "
            f"la famille voyait « {shown(payload['old'])} »."
        )


def same_value(stored: Any, seen: Any) -> bool:
    """Whether the stored value is the one the family saw (empty text and null alike)."""
    if isinstance(stored, bool) or isinstance(seen, bool):
        return bool(stored == seen)
    if isinstance(stored, date):
        stored = stored.isoformat()
    return (stored or "") == (seen or "")


def _who(db: Session, entity: str, entity_id: int | None) -> str:
    if entity_id is None or entity in ("family", "health_note"):
        return ""
    from regie_tui.models import AuthorizedPerson, Guardian

    row: Guardian | Child | AuthorizedPerson | None
    if entity == "guardian":
        row = db.get(Guardian, entity_id)
    elif entity == "child":
        row = db.get(Child, entity_id)
    else:
        row = db.get(AuthorizedPerson, entity_id)
    return f" — {row.first_name} {row.last_name}" if row is not None else ""


def school_year_end(day: date) -> date:
    return date(day.year + (day.month >= 9), 8, 31)


def document_info(db: Session, item: Submission) -> DocumentInfo:
    assert item.document_id is not None
    document = db.get(Document, item.document_id)
    assert document is not None
    doc_type = db.get(DocumentType, document.document_type_id)
    assert doc_type is not None
    # The file's size and type, not its content (up to 10 MB). On PostgreSQL, row-level
    # security hides a health document's file from the roles without health data: none then.
    media_type, size = db.execute(
        sa.select(col(StoredFile.media_type), col(StoredFile.size)).where(
            col(StoredFile.sha256) == document.file_sha256
        )
    ).first() or ("", 0)
    person = "Famille"
    if document.child_id is not None:
        child = db.get(Child, document.child_id)
        person = f"{child.first_name} {child.last_name}" if child else "?"
    start = document.valid_from or item.submitted_at.astimezone(PARIS).date()
    end = document.valid_to or default_valid_to(start, doc_type.validity_months)
    return DocumentInfo(
        document_id=id_of(document),
        type_name=doc_type.name,
        person=person,
        filename=document.filename,
        media_type=media_type,
        size=size,
        sha256=document.file_sha256,
        valid_from=start,
        valid_to=end,
        health=doc_type.health,
    )


def default_valid_to(start: date, validity_months: int | None) -> date:
    """The type's validity from ``start``, else the end of the school year."""
    if not validity_months:
        return school_year_end(start)
    month = start.month - 1 + validity_months
    year, month = start.year + month // 12, month % 12 + 1
    first_after = date(year, month, 1)
    day = min(start.day, ((first_after.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day)
    return first_after.replace(day=day) - timedelta(days=1)


def document_content(db: Session, *, submission_id: int, agent: AgentInfo) -> tuple[str, bytes]:
    """(file name, content) of a document item; a health document's only for the roles the
    matrix lets read health data."""
    agent.require(Permission.DESK)
    item = get_submission(db, submission_id)
    if item.document_id is None:
        raise RegieError("Cet élément n'a pas de fichier.")
    document = db.get(Document, item.document_id)
    assert document is not None
    if is_health_document(db, document.document_type_id):
        agent.require(Permission.HEALTH_DATA)
    stored = db.get(StoredFile, document.file_sha256)
    assert stored is not None
    return document.filename, stored.content


def pdf_first_page_text(content: bytes) -> str:
    """The text of a PDF's first page, or a French note when it has none."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        text = reader.pages[0].extract_text() if reader.pages else ""
    except (PdfReadError, ValueError, KeyError, IndexError):
        return "(PDF illisible)"
    return text.strip() or "(première page sans texte : document scanné)"
