"""The family file: everything the Fiche famille shows about one household, from SQL."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.formatting import age_on
from regie_tui.labels import HEALTH_KIND
from regie_tui.models import (
    Activity,
    AgeGroup,
    AuthorizedPerson,
    Child,
    ChildDiet,
    Consent,
    Diet,
    Document,
    DocumentScope,
    DocumentStatus,
    DocumentType,
    Enrollment,
    EnrollmentStatus,
    Family,
    FamilyQuotient,
    Guardian,
    HealthNote,
    PortalAccount,
    PortalLogin,
)
from regie_tui.services.billing.accounts import InvoiceRow, family_invoices
from regie_tui.services.billing.pricing import bracket_for, load_brackets
from regie_tui.services.common.sql import id_of, select_columns
from regie_tui.services.families.history import HistoryEntry, MessageLine, family_history, family_message_list
from regie_tui.services.families.stamps import last_audit_id
from regie_tui.services.payments.account import family_credit
from regie_tui.services.payments.sepa.batches import collection_dates
from regie_tui.services.portal.pending import pending_counts
from regie_tui.services.trust.access import CHILD_MEDICAL_DIET, HEALTH_FILE_HIDDEN, MEDICAL_DIET_HIDDEN, Permission
from regie_tui.services.trust.agents import AgentInfo


@dataclass(frozen=True)
class GuardianView:
    id: int
    name: str
    first_name: str
    last_name: str
    relationship: str
    is_payer: bool
    mobile_phone: str
    home_phone: str
    work_phone: str
    email: str
    employer: str


@dataclass(frozen=True)
class HealthNoteView:
    id: int
    kind: str
    text: str
    valid_until: date | None = None


@dataclass(frozen=True)
class ChildView:
    id: int
    first_name: str
    last_name: str
    birth_date: date
    age: int
    sex: str
    school: str
    school_class: str
    diets: list[str]
    diet_ids: list[int]
    health_notes: list[HealthNoteView] | None  # None: not shown to this agent's role
    health_note_count: int


@dataclass(frozen=True)
class AuthorizedPersonView:
    id: int
    name: str
    first_name: str
    last_name: str
    relationship: str
    phone: str
    may_collect: bool
    emergency_contact: bool


@dataclass(frozen=True)
class QuotientView:
    value: int
    source: str
    valid_from: date
    valid_to: date
    bracket: str | None


@dataclass(frozen=True)
class EnrollmentView:
    child: str
    activity: str
    age_group: str
    status: str
    requested_at: datetime


@dataclass(frozen=True)
class DocumentView:
    id: int
    type_name: str
    person: str
    filename: str
    status: str
    submitted_at: datetime | None
    valid_to: date | None


@dataclass(frozen=True)
class Alert:
    kind: str  # documents, health, requests, quotient, balance
    text: str


@dataclass(frozen=True)
class FamilyDetail:
    id: int
    name: str
    address: str
    address_extra: str
    postal_code: str
    city: str
    resident: bool
    notes: str
    version: int
    last_audit_id: int  # with version: the stamp a form takes when it opens (stamps.FamilyStamp)
    guardians: list[GuardianView]
    children: list[ChildView]
    authorized_persons: list[AuthorizedPersonView]
    quotient: QuotientView | None
    consents: dict[str, bool]
    portal_email: str | None
    portal_last_login: datetime | None
    enrollments: list[EnrollmentView]
    invoices: list[InvoiceRow]
    collections: dict[int, date]  # invoice id → the day of its live direct debit
    credit_cents: int  # money received and not allocated yet (the next payment's allocation uses it)
    documents: list[DocumentView]
    history: list[HistoryEntry]
    messages: list[MessageLine]
    balance_cents: int
    alerts: list[Alert] = field(default_factory=list)


def family_detail(session: Session, family_id: int, *, agent: AgentInfo, today: date) -> FamilyDetail:
    """Everything the Fiche famille shows, health notes only for roles allowed to see them."""
    family = session.get(Family, family_id)
    if family is None:
        raise NotFound(f"Aucune famille n° {family_id}.")
    guardians = _guardians(session, family_id)
    child_rows = {  # by id, eldest first
        id_of(c): c
        for c in session.exec(select(Child).where(Child.family_id == family_id).order_by(col(Child.birth_date)))
    }
    child_ids = list(child_rows)
    child_names = {child_id: c.first_name for child_id, c in child_rows.items()}
    sees_health = agent.may(Permission.HEALTH_DATA)
    children = _children(session, child_rows, sees_health=sees_health, today=today)
    authorized = _authorized_persons(session, family_id)
    quotient = _latest_quotient(session, family_id, resident=family.resident)
    consents = {
        kind.value: granted
        for kind, granted in session.exec(
            select(col(Consent.kind), col(Consent.granted))
            .where(Consent.family_id == family_id)
            .order_by(col(Consent.kind))
        )
    }
    portal_email, last_login = _portal_account(session, family_id)
    enrollments = _enrollments(session, child_ids, child_names)
    documents = _documents(session, family_id, child_names, sees_health=sees_health)
    invoices = family_invoices(session, family_id)
    balance = sum(i.balance_cents for i in invoices)
    history = family_history(session, family_id=family_id, agent=agent, today=today)
    detail = FamilyDetail(
        id=family_id,
        name=family.name,
        address=family.address,
        address_extra=family.address_extra,
        postal_code=family.postal_code,
        city=family.city,
        resident=family.resident,
        notes=family.notes,
        version=family.version,
        last_audit_id=last_audit_id(session, family_id),
        guardians=guardians,
        children=children,
        authorized_persons=authorized,
        quotient=quotient,
        consents=consents,
        portal_email=portal_email,
        portal_last_login=last_login,
        enrollments=enrollments,
        invoices=invoices,
        collections=collection_dates(session, invoice_ids=[i.id for i in invoices]),
        credit_cents=family_credit(session, family_id=family_id),
        documents=documents,
        history=history,
        messages=family_message_list(session, family_id=family_id),
        balance_cents=balance,
    )
    detail.alerts.extend(_alerts(session, detail, child_ids, agent=agent, today=today))
    return detail


def _portal_account(session: Session, family_id: int) -> tuple[str | None, datetime | None]:
    """The family's portal e-mail and its last successful login (None, None: no account)."""
    account = session.exec(select(PortalAccount).where(PortalAccount.family_id == family_id)).first()
    if account is None:
        return None, None
    last_login = session.exec(
        select(func.max(PortalLogin.at)).where(PortalLogin.account_id == account.id, PortalLogin.succeeded)
    ).one()
    return account.email, last_login


def _guardians(session: Session, family_id: int) -> list[GuardianView]:
    """The family's guardians, the payer first."""
    return [
        GuardianView(
            id=id_of(g),
            name=f"{g.first_name} {g.last_name}",
            first_name=g.first_name,
            last_name=g.last_name,
            relationship=g.relationship,
            is_payer=g.is_payer,
            mobile_phone=g.mobile_phone,
            home_phone=g.home_phone,
            work_phone=g.work_phone,
            email=g.email,
            employer=g.employer,
        )
        for g in session.exec(
            select(Guardian)
            .where(Guardian.family_id == family_id)
            .order_by(col(Guardian.is_payer).desc(), col(Guardian.id))
        )
    ]


def _children(session: Session, child_rows: dict[int, Child], *, sees_health: bool, today: date) -> list[ChildView]:
    """The children with their diets and health notes (for the others: how many notes, and a
    marker for a medical diet, never which)."""
    child_ids = list(child_rows)
    diets, diet_ids = _diets(session, child_ids, sees_health=sees_health)
    notes: dict[int, list[HealthNoteView]] = defaultdict(list)
    note_counts: dict[int, int] = defaultdict(int)
    if sees_health:
        for note in session.exec(
            select(HealthNote).where(col(HealthNote.child_id).in_(child_ids)).order_by(col(HealthNote.id))
        ):
            notes[note.child_id].append(
                HealthNoteView(id=id_of(note), kind=note.kind.value, text=note.text, valid_until=note.valid_until)
            )
            note_counts[note.child_id] += 1
    else:  # how many, never what (on PostgreSQL these roles may not even read the text)
        for child_id, count in session.exec(
            select(HealthNote.child_id, func.count(col(HealthNote.id)))
            .where(col(HealthNote.child_id).in_(child_ids))
            .group_by(col(HealthNote.child_id))
        ):
            note_counts[child_id] = count
    return [
        ChildView(
            id=child_id,
            first_name=c.first_name,
            last_name=c.last_name,
            birth_date=c.birth_date,
            age=age_on(c.birth_date, today),
            sex=c.sex.value,
            school=c.school,
            school_class=c.school_class,
            diets=diets[child_id],
            diet_ids=diet_ids[child_id],
            health_notes=notes[child_id] if sees_health else None,
            health_note_count=note_counts[child_id],
        )
        for child_id, c in child_rows.items()
    ]


def _diets(
    session: Session, child_ids: list[int], *, sees_health: bool
) -> tuple[dict[int, list[str]], dict[int, list[int]]]:
    """Each child's diet labels and ids; a medical diet only for the roles with health data."""
    diets: dict[int, list[str]] = defaultdict(list)
    diet_ids: dict[int, list[int]] = defaultdict(list)
    shown = select(ChildDiet.child_id, ChildDiet.diet_id, Diet.label).join(Diet, col(Diet.id) == ChildDiet.diet_id)
    if not sees_health:  # a medical diet tells a health condition: that there is one, not which
        shown = shown.where(~col(Diet.health))
        for (child_id,) in session.execute(
            sa.select(CHILD_MEDICAL_DIET.c.child_id).where(CHILD_MEDICAL_DIET.c.child_id.in_(child_ids))
        ):
            diets[child_id].append(MEDICAL_DIET_HIDDEN)
    for child_id, diet_id, label in session.exec(
        shown.where(col(ChildDiet.child_id).in_(child_ids)).order_by(col(Diet.label))
    ):
        diets[child_id].append(label)
        diet_ids[child_id].append(diet_id)
    return diets, diet_ids


def _authorized_persons(session: Session, family_id: int) -> list[AuthorizedPersonView]:
    return [
        AuthorizedPersonView(
            id=id_of(p),
            name=f"{p.first_name} {p.last_name}",
            first_name=p.first_name,
            last_name=p.last_name,
            relationship=p.relationship,
            phone=p.phone,
            may_collect=p.may_collect,
            emergency_contact=p.emergency_contact,
        )
        for p in session.exec(
            select(AuthorizedPerson).where(AuthorizedPerson.family_id == family_id).order_by(col(AuthorizedPerson.id))
        )
    ]


def _enrollments(session: Session, child_ids: list[int], child_names: dict[int, str]) -> list[EnrollmentView]:
    return [
        EnrollmentView(
            child=child_names[child_id],
            activity=activity,
            age_group=group,
            status=EnrollmentStatus(status).value,
            requested_at=at,
        )
        for child_id, activity, group, status, at in session.exec(
            select_columns(
                col(Enrollment.child_id),
                col(Activity.name),
                col(AgeGroup.name),
                col(Enrollment.status),
                col(Enrollment.requested_at),
            )
            .join(Activity, col(Activity.id) == Enrollment.activity_id)
            .join(AgeGroup, col(AgeGroup.id) == Enrollment.age_group_id)
            .where(col(Enrollment.child_id).in_(child_ids))
            .order_by(col(Enrollment.child_id), col(Activity.start_date), col(Activity.name))
        )
    ]


def _latest_quotient(session: Session, family_id: int, *, resident: bool) -> QuotientView | None:
    quotient = session.exec(
        select(FamilyQuotient)
        .where(FamilyQuotient.family_id == family_id)
        .order_by(col(FamilyQuotient.valid_from).desc(), col(FamilyQuotient.id).desc())
    ).first()
    if quotient is None:
        return None
    brackets = load_brackets(session)
    bracket = bracket_for(brackets, resident=resident, quotient=quotient.value).name if brackets else None
    return QuotientView(
        value=quotient.value,
        source=quotient.source,
        valid_from=quotient.valid_from,
        valid_to=quotient.valid_to,
        bracket=bracket,
    )


def _documents(
    session: Session, family_id: int, child_names: dict[int, str], *, sees_health: bool
) -> list[DocumentView]:
    """The family's documents; a health document's file name only for the roles with health data."""
    rows = session.exec(
        select_columns(
            col(Document.id),
            col(DocumentType.name),
            col(Document.child_id),
            col(Document.filename),
            col(DocumentType.health),
            col(Document.status),
            col(Document.submitted_at),
            col(Document.valid_to),
        )
        .join(DocumentType, col(DocumentType.id) == Document.document_type_id)
        .where(Document.family_id == family_id)
        .order_by(col(Document.submitted_at).desc(), col(Document.id).desc())
    )
    return [
        DocumentView(
            id=document_id,
            type_name=name,
            person=child_names.get(child_id, "Famille") if child_id else "Famille",
            filename=filename if sees_health or not health else HEALTH_FILE_HIDDEN,
            status=DocumentStatus(status).value,
            submitted_at=at,
            valid_to=valid_to,
        )
        for document_id, name, child_id, filename, health, status, at, valid_to in rows
    ]


def _alerts(
    session: Session, detail: FamilyDetail, child_ids: list[int], *, agent: AgentInfo, today: date
) -> list[Alert]:
    alerts: list[Alert] = []
    alerts += _document_alerts(session, detail.id, child_ids, today=today)
    for child in detail.children:
        if child.health_note_count:
            if child.health_notes is None:
                alerts.append(Alert("health", f"{child.first_name} : informations sanitaires (accès réservé)"))
            else:
                kinds = sorted({n.kind for n in child.health_notes})
                alerts.append(Alert("health", f"{child.first_name} : " + ", ".join(HEALTH_KIND[k] for k in kinds)))
    if detail.quotient is None:
        alerts.append(Alert("quotient", "Aucun quotient familial : tarif le plus élevé appliqué"))
    elif detail.quotient.valid_to < today:
        alerts.append(Alert("quotient", f"Quotient familial expiré le {detail.quotient.valid_to:%d/%m/%Y}"))
    pending = pending_counts(session, family_id=detail.id)
    if pending.total:
        alerts.append(Alert("requests", f"Bannette (F3) : {pending.short()}"))
    return alerts


def _document_alerts(session: Session, family_id: int, child_ids: list[int], *, today: date) -> list[Alert]:
    """Required documents missing (none accepted or pending) or expired, per person."""
    required = session.exec(select(DocumentType).where(DocumentType.required).order_by(DocumentType.name)).all()
    held = session.exec(
        select(
            col(Document.document_type_id), col(Document.child_id), col(Document.status), col(Document.valid_to)
        ).where(
            Document.family_id == family_id,
            col(Document.status).in_([DocumentStatus.ACCEPTED, DocumentStatus.PENDING, DocumentStatus.EXPIRED]),
        )
    ).all()
    names = dict(session.exec(select(col(Child.id), col(Child.first_name)).where(col(Child.id).in_(child_ids))).all())
    alerts: list[Alert] = []
    for doc_type in required:
        people = [None] if doc_type.scope == DocumentScope.FAMILY else child_ids
        for child_id in people:
            mine = [
                h for h in held if h[0] == doc_type.id and (doc_type.scope == DocumentScope.FAMILY or h[1] == child_id)
            ]
            valid = [h for h in mine if h[2] != DocumentStatus.EXPIRED and (h[3] is None or h[3] >= today)]
            who = "" if child_id is None else f" ({names[child_id]})"
            if valid:
                continue
            if mine:
                alerts.append(Alert("documents", f"{doc_type.name}{who} : expiré"))
            else:
                alerts.append(Alert("documents", f"{doc_type.name}{who} : manquant"))
    return alerts
