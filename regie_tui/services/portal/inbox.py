"""The bannette: the pending portal submissions, listed, filtered, shown and decided.

Deciding an item is one transaction: the item is claimed first (``status = 'pending'``
in the UPDATE's condition, so two agents never decide it twice), then applied through
the service that owns the rule (family_edit, enrolments, booking_rules, payments,
messages), audited, and the family told through the outbox. A rule that needs the
agent's choice (a field that changed since, a group that does not fit, a full group)
raises ``NeedsChoice`` and nothing is written.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.clock import PARIS
from regie_tui.errors import NotFound, RegieError
from regie_tui.labels import HEALTH_KIND, SUBMISSION_KIND
from regie_tui.models import (
    Activity,
    Agent,
    Child,
    Document,
    DocumentStatus,
    DocumentType,
    Family,
    RefusalTemplate,
    Source,
    StoredFile,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from regie_tui.services.common.sql import id_of, select_columns
from regie_tui.services.common.validation import check_text
from regie_tui.services.families.fields import ENTITY_LABELS, field_spec, shown
from regie_tui.services.portal.pending import KINDS, PendingCounts
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

Grouping = Literal["family", "kind"]


class AlreadyDecided(RegieError):
    """Another agent decided the item first."""


class NeedsChoice(RegieError):
    """Accepting needs the agent's choice; ``options`` says which ones the screen offers."""

    def __init__(self, message: str, *, options: Sequence[str] = (), now: str = "", asked: str = "") -> None:
        super().__init__(message)
        self.options = list(options)
        self.now = now
        self.asked = asked


@dataclass(frozen=True)
class InboxFilter:
    kind: str | None = None  # a key of pending.KINDS ("changes", "documents"…)
    activity_id: int | None = None
    facility_id: int | None = None
    waiting_days: int | None = None  # items waiting for at least that many days
    text: str = ""


@dataclass(frozen=True)
class InboxRow:
    id: int
    kind: str
    family_id: int
    family_name: str
    submitted_at: datetime
    summary: str

    @property
    def kind_label(self) -> str:
        return SUBMISSION_KIND[self.kind]


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    counts: PendingCounts  # of the items matching the filter, every kind
    total: int  # rows matching the filter (rows holds at most the limit)


def _conditions(filters: InboxFilter, *, now: datetime) -> list[Any]:
    conditions: list[Any] = [Submission.status == SubmissionStatus.PENDING]
    if filters.activity_id is not None:
        conditions.append(Submission.activity_id == filters.activity_id)
    if filters.facility_id is not None:
        conditions.append(
            col(Submission.activity_id).in_(select(Activity.id).where(Activity.facility_id == filters.facility_id))
        )
    if filters.waiting_days:
        conditions.append(col(Submission.submitted_at) <= now - timedelta(days=filters.waiting_days))
    text = filters.text.strip().lower()
    if text:
        conditions.append(sa.or_(func.lower(Submission.summary).contains(text), func.lower(Family.name).contains(text)))
    return conditions


def inbox_page(
    db: Session, *, filters: InboxFilter = InboxFilter(), grouping: Grouping = "family", now: datetime, limit: int = 200
) -> InboxPage:
    """The pending items matching ``filters``, oldest first within their family or kind."""
    conditions = _conditions(filters, now=now)
    base = sa.select(col(Submission.kind), func.count())
    if filters.text.strip():
        base = base.join(Family, col(Family.id) == Submission.family_id)
    by_kind: dict[Any, int] = {
        kind: n for kind, n in db.execute(base.where(*conditions).group_by(col(Submission.kind)))
    }
    counts = PendingCounts(
        **{name: sum(by_kind.get(SubmissionKind(kind), 0) for kind in kinds) for name, (kinds, _) in KINDS.items()}
    )
    if filters.kind:
        conditions.append(col(Submission.kind).in_(KINDS[filters.kind][0]))
    # The page's ids first, from the covering index; then those rows only, with their texts.
    text = bool(filters.text.strip())
    page_columns = [col(Submission.id).label("id"), col(Submission.family_id), col(Submission.submitted_at)]
    if grouping == "family":
        firsts = select_columns(
            col(Submission.family_id).label("family_id"), func.min(Submission.submitted_at).label("first")
        )
        if text:
            firsts = firsts.join(Family, col(Family.id) == Submission.family_id)
        grouped = firsts.where(*conditions).group_by(col(Submission.family_id)).cte("firsts")
        ids = select_columns(*page_columns, grouped.c.first).join(grouped, grouped.c.family_id == Submission.family_id)
        sort = [grouped.c.first, col(Submission.family_id), col(Submission.submitted_at), col(Submission.id)]
    else:
        kind_order = sa.case(
            {kind: position for position, kind in enumerate(SUBMISSION_KIND)}, value=col(Submission.kind)
        )
        ids = select_columns(*page_columns, kind_order.label("kind_order"))
        sort = [kind_order, col(Submission.submitted_at), col(Submission.id)]
    if text:
        ids = ids.join(Family, col(Family.id) == Submission.family_id)
    page_ids = ids.where(*conditions).order_by(*sort).limit(limit).subquery("page")
    group_order = [page_ids.c.first, page_ids.c.family_id] if grouping == "family" else [page_ids.c.kind_order]
    order = [*group_order, page_ids.c.submitted_at, page_ids.c.id]
    query = (
        select_columns(
            col(Submission.id),
            col(Submission.kind),
            col(Submission.family_id),
            col(Family.name),
            col(Submission.submitted_at),
            col(Submission.summary),
        )
        .join(page_ids, page_ids.c.id == Submission.id)
        .join(Family, col(Family.id) == Submission.family_id)
        .order_by(*order)
    )
    rows = [
        InboxRow(id=i, kind=SubmissionKind(kind).value, family_id=f, family_name=name, submitted_at=at, summary=summary)
        for i, kind, f, name, at, summary in db.execute(query)
    ]
    total = (
        sum(by_kind.get(SubmissionKind(kind), 0) for kind in KINDS[filters.kind][0]) if filters.kind else counts.total
    )
    return InboxPage(rows=rows, counts=counts, total=total)


# ----------------------------------------------------------------------------- detail


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


def _submission(db: Session, submission_id: int) -> Submission:
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
    item = _submission(db, submission_id)
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
    payload = item.payload
    kind = item.kind
    if is_health_request(kind, payload) and not agent.may(Permission.HEALTH_DATA):
        detail.lines += [("Fiche", ENTITY_LABELS["health_note"]), ("Valeurs", HEALTH_HIDDEN)]
    elif kind == SubmissionKind.CHANGE:
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
        from regie_tui.services.families.enrollments import check_enrollment

        detail.enrollment = check_enrollment(
            db,
            child_id=payload["child"],
            activity_id=payload["activity"],
            age_group_id=payload["age_group"],
            start_date=_day(payload.get("start_date")),
            end_date=_day(payload.get("end_date")),
        )
        if payload.get("comment"):
            detail.lines.append(("Commentaire", payload["comment"]))
    elif kind == SubmissionKind.BOOKING:
        from regie_tui.services.bookings.rules import check_cells

        child = db.get(Child, payload["child"])
        detail.lines.append(("Enfant", f"{child.first_name} {child.last_name}" if child else "?"))
        detail.cells = check_cells(
            db, child_id=payload["child"], cells=_cells(payload), now=now, asked_at=item.submitted_at
        )
    elif kind == SubmissionKind.DOCUMENT:
        document = _document_info(db, item)
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
    if item.status != SubmissionStatus.PENDING:
        who = db.get(Agent, item.decided_by_id) if item.decided_by_id else None
        word = {"accepted": "Acceptée", "refused": "Refusée", "recorded": "Enregistrée"}[item.status.value]
        detail.decided = (
            f"{word} par {who.display_name if who else 'le système'}, le {formatting.local_datetime(item.decided_at)}"
        )
        if item.reason:
            detail.decided += f" : {item.reason}"
    return detail


def _check_may_decide(db: Session, item: Submission, agent: AgentInfo) -> None:
    """A health request or a health document is decided by who may read it (role matrix)."""
    agent.require(Permission.DESK)
    if is_health_request(item.kind, item.payload):
        agent.require(Permission.HEALTH_DATA)
    if item.document_id is not None:
        document = db.get(Document, item.document_id)
        if document is not None and _is_health_document(db, document.document_type_id):
            agent.require(Permission.HEALTH_DATA)


def _is_health_document(db: Session, document_type_id: int) -> bool:
    return bool(db.exec(select(DocumentType.health).where(DocumentType.id == document_type_id)).first())


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _cells(payload: dict[str, Any]) -> list[Any]:
    from regie_tui.services.bookings.rules import CellRequest

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
    if not _same(now_value, payload["old"]):
        detail.conflict = (
            f"Le champ a changé depuis la demande : il vaut « {shown(now_value)} », "
            f"la famille voyait « {shown(payload['old'])} »."
        )


def _same(stored: Any, seen: Any) -> bool:
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


def _document_info(db: Session, item: Submission) -> DocumentInfo:
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
    item = _submission(db, submission_id)
    if item.document_id is None:
        raise RegieError("Cet élément n'a pas de fichier.")
    document = db.get(Document, item.document_id)
    assert document is not None
    if _is_health_document(db, document.document_type_id):
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


# ----------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class AcceptChoice:
    force: bool = False  # a change: apply the value asked although the field changed since
    group_id: int | None = None  # an enrollment: another group than the one asked
    waiting_list: bool = False  # an enrollment in a full group: on the waiting list
    valid_from: date | None = None  # a document's validity (default: see default_valid_to)
    valid_to: date | None = None


@dataclass(frozen=True)
class Decision:
    submission_id: int
    accepted: bool
    message: str  # what was done, in French
    details: list[str] = field(default_factory=list)
    mail_id: int | None = None
    verdict: str = ""  # when not a plain acceptance: "placée sur liste d'attente", "traité"


def _pending(db: Session, submission_id: int) -> Submission:
    """The item, if it still waits for a decision (else why not, in French)."""
    item = _submission(db, submission_id)
    if item.status == SubmissionStatus.RECORDED:
        raise RegieError(f"L'élément n° {submission_id} est dans l'historique de la famille : rien à décider.")
    if item.status != SubmissionStatus.PENDING:
        raise AlreadyDecided(_decided_text(db, item))
    return item


def _decided_text(db: Session, item: Submission) -> str:
    who = db.get(Agent, item.decided_by_id) if item.decided_by_id else None
    when = formatting.local_datetime(item.decided_at) if item.decided_at else "?"
    return f"Élément déjà traité par {who.display_name if who else 'un autre agent'}, le {when}."


def _claim(
    db: Session, item: Submission, *, status: SubmissionStatus, agent: AgentInfo, reason: str, now: datetime
) -> None:
    """Mark the item decided, unless someone else did first (then ``AlreadyDecided``)."""
    done = db.execute(
        sa.update(Submission)
        .where(col(Submission.id) == item.id, col(Submission.status) == SubmissionStatus.PENDING)
        .values(
            status=status,
            decided_by_id=agent.id,
            decided_at=now.astimezone(UTC),
            reason=reason,
            version=col(Submission.version) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.expire(item)
        fresh = db.get(Submission, item.id)
        assert fresh is not None
        raise AlreadyDecided(_decided_text(db, fresh))
    # The loaded item as the row now is, without reading it again.
    for name, value in (("status", status), ("decided_by_id", agent.id), ("reason", reason)):
        set_committed_value(item, name, value)
    set_committed_value(item, "version", item.version + 1)


def _record(
    db: Session, item: Submission, *, agent: AgentInfo, accepted: bool, reason: str, details: Sequence[str]
) -> None:
    audit.record(
        db,
        action="decide",
        entity="submission",
        entity_id=item.id,
        agent_id=agent.id,
        family_id=item.family_id,
        before={"status": "pending"},
        after={
            "status": "accepted" if accepted else "refused",
            "kind": item.kind.value,
            "summary": item.summary,
            **({"reason": reason} if reason else {}),
            **({"details": list(details)} if details else {}),
        },
    )


def _tell(
    db: Session,
    item: Submission,
    *,
    agent: AgentInfo,
    accepted: bool,
    reason: str,
    details: Sequence[str],
    verdict: str = "",
) -> int | None:
    from regie_tui.services.portal.outbox import decision_mail

    return decision_mail(
        db,
        family_id=item.family_id,
        asked=item.summary,
        accepted=accepted,
        reason=reason,
        details=details,
        agent_id=agent.id,
        submission_id=item.id,
        verdict=verdict,
    )


def accept(
    db: Session, *, submission_id: int, agent: AgentInfo, now: datetime, choice: AcceptChoice = AcceptChoice()
) -> Decision:
    """Apply the item to the file, in the caller's transaction (commit it; roll back on error)."""
    item = _pending(db, submission_id)
    _check_may_decide(db, item, agent)
    kind, payload, submitted_at = item.kind, dict(item.payload), item.submitted_at
    _claim(db, item, status=SubmissionStatus.ACCEPTED, agent=agent, reason="", now=now)
    details: list[str] = []
    message = "Demande acceptée."
    verdict = ""
    tell = True
    if kind == SubmissionKind.CHANGE:
        message = _accept_change(db, item, payload, agent=agent, force=choice.force)
    elif kind == SubmissionKind.NEW_CHILD:
        from regie_tui.services.families.edit import add_entity

        _refuse_twin(db, item.family_id, payload, force=choice.force)
        values = {key: payload.get(key, "") for key in ("first_name", "last_name", "sex", "school", "school_class")}
        values["birth_date"] = payload["birth_date"]
        add_entity(db, family_id=item.family_id, entity="child", values=values, agent_id=agent.id, source=Source.PORTAL)
        message = f"Enfant ajouté : {payload['first_name']} {payload['last_name']}."
    elif kind == SubmissionKind.ENROLLMENT:
        message, details, verdict = _accept_enrollment(
            db, payload, agent=agent, choice=choice, now=now, requested_at=submitted_at
        )
    elif kind == SubmissionKind.BOOKING:
        message, details = _accept_booking(db, payload, agent=agent, now=now, asked_at=submitted_at)
    elif kind == SubmissionKind.DOCUMENT:
        message = _accept_document(db, item, agent=agent, choice=choice, now=now)
    elif kind == SubmissionKind.MESSAGE:
        from regie_tui.services.portal.messages import mark_done

        assert item.message_id is not None
        mark_done(db, message_id=item.message_id, agent_id=agent.id)
        message, verdict, tell = "Message traité.", "traité", False
    elif kind == SubmissionKind.PAYMENT:
        from regie_tui.services.payments.ledger import record_online_payment

        recorded = record_online_payment(
            db,
            family_id=item.family_id,
            invoice_number=payload["invoice"],
            amount_cents=payload["amount_cents"],
            paid_at=datetime.fromisoformat(payload["paid_at"]),
            reference=payload["reference"],
            agent_id=agent.id,
        )
        message = f"Paiement enregistré : reçu {recorded.receipt_number}."
    else:
        raise RegieError("Une connexion au portail ne se décide pas.")
    _record(db, item, agent=agent, accepted=True, reason="", details=details)
    mail_id = _tell(db, item, agent=agent, accepted=True, reason="", details=details, verdict=verdict) if tell else None
    return Decision(
        submission_id=submission_id, accepted=True, message=message, details=details, mail_id=mail_id, verdict=verdict
    )


def refuse(db: Session, *, submission_id: int, agent: AgentInfo, reason: str, now: datetime) -> Decision:
    """Refuse the item with a reason the family reads; a refused document stays expected."""
    reason = " ".join(reason.split())
    if not reason:
        raise RegieError("Motif obligatoire pour refuser.")
    check_text(reason, "Motif", column=Submission.reason)
    item = _pending(db, submission_id)
    _check_may_decide(db, item, agent)
    if item.kind == SubmissionKind.MESSAGE:
        raise RegieError("Un message ne se refuse pas : répondez-y, puis marquez-le traité.")
    _claim(db, item, status=SubmissionStatus.REFUSED, agent=agent, reason=reason, now=now)
    if item.document_id is not None:
        document = db.get(Document, item.document_id)
        assert document is not None
        document.status = DocumentStatus.REFUSED
        document.refusal_reason = reason
        document.decided_by_id = agent.id
        document.decided_at = now.astimezone(UTC)
        document.version += 1
        db.add(document)
    _record(db, item, agent=agent, accepted=False, reason=reason, details=())
    mail_id = _tell(db, item, agent=agent, accepted=False, reason=reason, details=())
    return Decision(submission_id=submission_id, accepted=False, message="Demande refusée.", mail_id=mail_id)


def _accept_change(db: Session, item: Submission, payload: dict[str, Any], *, agent: AgentInfo, force: bool) -> str:
    from regie_tui.services.families.edit import add_entity, read_field, set_fields

    entity, entity_id, name = payload["entity"], payload.get("entity_id"), payload["field"]
    if entity_id is None:
        values = dict(payload["new"])
        if entity == "health_note" and "child" in values:
            values["child_id"] = values.pop("child")
        add_entity(db, family_id=item.family_id, entity=entity, values=values, agent_id=agent.id, source=Source.PORTAL)
        return f"{ENTITY_LABELS[entity]} ajoutée."
    now_value = read_field(db, entity=entity, entity_id=entity_id, field=name)
    if not force and not _same(now_value, payload["old"]):
        raise NeedsChoice(
            f"Conflit : le champ vaut maintenant « {shown(now_value)} », "
            f"la famille demande « {shown(payload['new'])} » "
            f"(elle voyait « {shown(payload['old'])} »).",
            options=["force", "refuse"],
            now=shown(now_value),
            asked=shown(payload["new"]),
        )
    set_fields(
        db,
        family_id=item.family_id,
        entity=entity,
        entity_id=entity_id,
        values={name: payload["new"]},
        agent_id=agent.id,
        source=Source.PORTAL,
    )
    spec = field_spec(entity, name)
    return f"{spec.label if spec else name} : {shown(payload['new'])}."


def _refuse_twin(db: Session, family_id: int, payload: dict[str, Any], *, force: bool) -> None:
    """A new child already in the family (same first name and birth date) is most likely a duplicate."""
    from regie_tui.services.families.search_words import fold

    born = date.fromisoformat(payload["birth_date"])
    for child in db.exec(select(Child).where(Child.family_id == family_id, Child.birth_date == born)):
        if fold(child.first_name) == fold(payload["first_name"]) and not force:
            raise NeedsChoice(
                f"{child.first_name} {child.last_name}, né(e) le {formatting.short_date(born)}, est déjà dans la "
                f"famille (enfant n° {child.id}) : c'est sans doute un doublon.",
                options=["force", "refuse"],
                asked=f"ajouter quand même {payload['first_name']} {payload['last_name']}",
            )


def _accept_enrollment(
    db: Session,
    payload: dict[str, Any],
    *,
    agent: AgentInfo,
    choice: AcceptChoice,
    now: datetime,
    requested_at: datetime,
) -> tuple[str, list[str], str]:
    from regie_tui.services.families.enrollments import check_enrollment, enrol

    group_id = choice.group_id or payload["age_group"]
    start, end = _day(payload.get("start_date")), _day(payload.get("end_date"))
    check = check_enrollment(
        db,
        child_id=payload["child"],
        activity_id=payload["activity"],
        age_group_id=group_id,
        start_date=start,
        end_date=end,
    )
    if not check.group.age_fits:
        fitting = [g for g in check.groups if g.age_fits]
        raise NeedsChoice(
            f"{check.child_name} aura {check.age_on_first_day} ans le {formatting.short_date(check.first_day)} : "
            f"le groupe {check.group.name} est pour {check.group.min_age}-{check.group.max_age} ans. "
            + (
                "Choisir un autre groupe : " + ", ".join(f"{g.name} (n° {g.id})" for g in fitting)
                if fitting
                else "Aucun groupe ne convient."
            )
            + " Ou refuser.",
            options=["group", "refuse"],
        )
    full = check.group.places_left is not None and check.group.places_left <= 0
    if full and not choice.waiting_list:
        raise NeedsChoice(
            f"Groupe {check.group.name} complet : inscrire sur liste d'attente ou refuser.",
            options=["waiting_list", "refuse"],
        )
    enrol(
        db,
        child_id=payload["child"],
        activity_id=payload["activity"],
        age_group_id=group_id,
        start_date=start,
        end_date=end,
        waiting_list=full,
        agent_id=agent.id,
        source=Source.PORTAL,
        now=now,
        requested_at=requested_at,
    )
    where = f"{check.activity_name}, groupe {check.group.name}"
    if full:
        return (
            f"Inscription sur liste d'attente : {where}.",
            [f"Liste d'attente : {where}"],
            "placée sur liste d'attente",
        )
    return f"Inscription acceptée : {where}.", [f"Inscription : {where}"], ""


def _accept_booking(
    db: Session, payload: dict[str, Any], *, agent: AgentInfo, now: datetime, asked_at: datetime
) -> tuple[str, list[str]]:
    """The days the rules allow (the notice deadline judged when the family asked)."""
    from regie_tui.services.bookings.rules import apply_cells

    checks = apply_cells(
        db,
        child_id=payload["child"],
        cells=_cells(payload),
        agent_id=agent.id,
        source=Source.PORTAL,
        now=now,
        asked_at=asked_at,
    )
    done = [c for c in checks if c.allowed]
    if not done:
        raise RegieError(
            "Aucune journée ne peut être acceptée : "
            + "; ".join(f"{formatting.short_date(c.day)} {c.unit_name} : {c.rule}" for c in checks[:5])
            + ("…" if len(checks) > 5 else "")
            + ". Refusez la demande avec un motif."
        )
    details = []
    for c in checks:
        verb = "réservé" if c.action == "book" else "annulé"
        if not c.allowed:
            details.append(f"{formatting.short_date(c.day)} {c.unit_name} : refusé ({c.rule})")
        elif c.waiting_list:
            details.append(f"{formatting.short_date(c.day)} {c.unit_name} : en liste d'attente")
        else:
            details.append(f"{formatting.short_date(c.day)} {c.unit_name} : {verb}")
    refused = len(checks) - len(done)
    message = f"{len(done)} journée(s) acceptée(s)" + (f", {refused} refusée(s)." if refused else ".")
    return message, details


def _accept_document(db: Session, item: Submission, *, agent: AgentInfo, choice: AcceptChoice, now: datetime) -> str:
    info = _document_info(db, item)
    valid_from = choice.valid_from or info.valid_from
    valid_to = choice.valid_to or info.valid_to
    if valid_to < valid_from:
        raise RegieError("La fin de validité précède son début.")
    document = db.get(Document, info.document_id)
    assert document is not None
    document.status = DocumentStatus.ACCEPTED
    document.valid_from, document.valid_to = valid_from, valid_to
    document.decided_by_id = agent.id
    document.decided_at = now.astimezone(UTC)
    document.version += 1
    db.add(document)
    return f"{info.type_name} valide du {formatting.short_date(valid_from)} au {formatting.short_date(valid_to)}."


def accept_family(db: Session, *, family_id: int, agent: AgentInfo, now: datetime) -> tuple[list[Decision], list[str]]:
    """Accept every pending item of the family that needs no choice; the others are reported.

    Messages are left: each wants a reply or at least to be read before it is marked done."""
    ids = db.exec(
        select(Submission.id)
        .where(
            Submission.family_id == family_id,
            Submission.status == SubmissionStatus.PENDING,
            Submission.kind != SubmissionKind.MESSAGE,
        )
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    decisions: list[Decision] = []
    left: list[str] = []
    for submission_id in ids:
        assert submission_id is not None
        savepoint = db.begin_nested()
        try:
            decisions.append(accept(db, submission_id=submission_id, agent=agent, now=now))
            savepoint.commit()
        except RegieError as exc:
            savepoint.rollback()
            left.append(f"n° {submission_id} : {exc.message}")
    return decisions, left


# ----------------------------------------------------------------------------- refusal templates


@dataclass(frozen=True)
class Template:
    id: int
    kind: str | None
    text: str


def refusal_templates(db: Session, *, kind: str | None = None) -> list[Template]:
    """The active templates for an item of ``kind`` (its own first, then the general ones)."""
    query = select(RefusalTemplate).where(col(RefusalTemplate.active))
    if kind is not None:
        query = query.where(sa.or_(col(RefusalTemplate.kind).is_(None), col(RefusalTemplate.kind) == kind))
    rows = db.exec(query.order_by(col(RefusalTemplate.kind).is_(None), col(RefusalTemplate.position))).all()
    return [Template(id=id_of(t), kind=t.kind.value if t.kind else None, text=t.text) for t in rows]


def save_template(db: Session, *, text: str, kind: str | None, agent: AgentInfo) -> int:
    text = check_text(" ".join(text.split()), "Motif", column=RefusalTemplate.text)
    position = db.exec(select(func.coalesce(func.max(RefusalTemplate.position), 0))).one() + 1
    template = RefusalTemplate(kind=SubmissionKind(kind) if kind else None, text=text, position=position)
    db.add(template)
    db.flush()
    audit.record(
        db, action="create", entity="refusal_template", entity_id=template.id, agent_id=agent.id, after={"text": text}
    )
    return id_of(template)


def withdraw_template(db: Session, *, template_id: int, agent: AgentInfo) -> None:
    template = db.get(RefusalTemplate, template_id)
    if template is None:
        raise NotFound(f"Aucun motif n° {template_id}.")
    template.active = False
    db.add(template)
    audit.record(
        db,
        action="delete",
        entity="refusal_template",
        entity_id=template_id,
        agent_id=agent.id,
        before={"text": template.text},
    )
