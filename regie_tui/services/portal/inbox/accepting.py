"""Accepting a bannette item: each kind applied to the family's file through the service
that owns its rule (families.edit, families.enrollments, bookings.rules, payments, portal.messages).

A rule that needs the agent's choice raises ``NeedsChoice``: the caller rolls back.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import Child, Document, DocumentStatus, Source, Submission, SubmissionKind
from regie_tui.services.families.fields import ENTITY_LABELS, field_spec, shown
from regie_tui.services.portal.inbox.item import document_info, payload_day, requested_cells, same_value
from regie_tui.services.trust.agents import AgentInfo


class NeedsChoice(RegieError):
    """Accepting needs the agent's choice; ``options`` says which ones the screen offers."""

    def __init__(self, message: str, *, options: Sequence[str] = (), now: str = "", asked: str = "") -> None:
        super().__init__(message)
        self.options = list(options)
        self.now = now
        self.asked = asked


@dataclass(frozen=True)
class AcceptChoice:
    force: bool = False  # a change: apply the value asked although the field changed since
    group_id: int | None = None  # an enrollment: another group than the one asked
    waiting_list: bool = False  # an enrollment in a full group: on the waiting list
    valid_from: date | None = None  # a document's validity (default: see item.default_valid_to)
    valid_to: date | None = None


@dataclass(frozen=True)
class Applied:
    """What accepting an item did, in French; ``tell``: the family gets a mail about it."""

    message: str
    details: list[str] = field(default_factory=list)
    verdict: str = ""  # when not a plain acceptance: "placée sur liste d'attente", "traité"
    tell: bool = True


def apply_item(
    db: Session, item: Submission, payload: dict[str, Any], *, agent: AgentInfo, choice: AcceptChoice, now: datetime
) -> Applied:
    """Apply the (claimed) item of any kind to the family's file."""
    kind, family_id = item.kind, item.family_id
    if kind == SubmissionKind.CHANGE:
        return Applied(_accept_change(db, item, payload, agent=agent, force=choice.force))
    if kind == SubmissionKind.NEW_CHILD:
        return Applied(_accept_child(db, family_id, payload, agent=agent, force=choice.force))
    if kind == SubmissionKind.ENROLLMENT:
        message, details, verdict = _accept_enrollment(
            db, payload, agent=agent, choice=choice, now=now, requested_at=item.submitted_at
        )
        return Applied(message, details, verdict)
    if kind == SubmissionKind.BOOKING:
        return Applied(*_accept_booking(db, payload, agent=agent, now=now, asked_at=item.submitted_at))
    if kind == SubmissionKind.DOCUMENT:
        return Applied(_accept_document(db, item, agent=agent, choice=choice, now=now))
    if kind == SubmissionKind.MESSAGE:
        from regie_tui.services.portal.messages import mark_done

        assert item.message_id is not None
        mark_done(db, message_id=item.message_id, agent_id=agent.id)
        return Applied("Message traité.", verdict="traité", tell=False)
    if kind == SubmissionKind.PAYMENT:
        from regie_tui.services.payments.recording import record_online_payment

        recorded = record_online_payment(
            db,
            family_id=family_id,
            invoice_number=payload["invoice"],
            amount_cents=payload["amount_cents"],
            paid_at=datetime.fromisoformat(payload["paid_at"]),
            reference=payload["reference"],
            agent_id=agent.id,
        )
        return Applied(f"Paiement enregistré : reçu {recorded.receipt_number}.")
    raise RegieError("Une connexion au portail ne se décide pas.")


def _accept_child(db: Session, family_id: int, payload: dict[str, Any], *, agent: AgentInfo, force: bool) -> str:
    from regie_tui.services.families.edit import add_entity

    _refuse_twin(db, family_id, payload, force=force)
    values = {key: payload.get(key, "") for key in ("first_name", "last_name", "sex", "school", "school_class")}
    values["birth_date"] = payload["birth_date"]
    add_entity(db, family_id=family_id, entity="child", values=values, agent_id=agent.id, source=Source.PORTAL)
    return f"Enfant ajouté : {payload['first_name']} {payload['last_name']}."


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
    if not force and not same_value(now_value, payload["old"]):
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
    start, end = payload_day(payload.get("start_date")), payload_day(payload.get("end_date"))
    check = check_enrollment(
        db,
        child_id=payload["child"],
        activity_id=payload["activity"],
        age_group_id=group_id,
        start_date=start,
        end_date=end,
    )
    if not check.group.age_fits:
        raise _another_group(check)
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


def _another_group(check: Any) -> NeedsChoice:
    """The group asked is not for the child's age: the agent picks another (or refuses)."""
    fitting = [g for g in check.groups if g.age_fits]
    return NeedsChoice(
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


def _accept_booking(
    db: Session, payload: dict[str, Any], *, agent: AgentInfo, now: datetime, asked_at: datetime
) -> tuple[str, list[str]]:
    """The days the rules allow (the notice deadline judged when the family asked)."""
    from regie_tui.services.bookings.rules import apply_cells

    checks = apply_cells(
        db,
        child_id=payload["child"],
        cells=requested_cells(payload),
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
    info = document_info(db, item)
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
