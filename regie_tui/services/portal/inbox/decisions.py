"""Deciding a bannette item, in the caller's transaction.

The item is claimed first (``status = 'pending'`` in the UPDATE's condition, so two agents
never decide it twice), then applied through the service that owns the rule (families.edit,
families.enrollments, bookings.rules, payments, portal.messages), audited, and the family told
through the outbox. A rule that needs the agent's choice (a field that changed since, a group
that does not fit, a full group) raises ``NeedsChoice`` and nothing is written.
:func:`decide` is the desk's one call: a decision, and the item it shows next.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import Agent, Document, DocumentStatus, Submission, SubmissionKind, SubmissionStatus
from regie_tui.services.common.validation import check_text
from regie_tui.services.portal.inbox.accepting import AcceptChoice, NeedsChoice, apply_item
from regie_tui.services.portal.inbox.item import (
    ItemDetail,
    get_submission,
    is_health_document,
    is_health_request,
    item_detail,
)
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

#: Accepting an item as it asks, without any choice of the agent's.
NO_CHOICE = AcceptChoice()


class AlreadyDecided(RegieError):
    """Another agent decided the item first."""


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
    item = get_submission(db, submission_id)
    if item.status == SubmissionStatus.RECORDED:
        raise RegieError(f"L'élément n° {submission_id} est dans l'historique de la famille : rien à décider.")
    if item.status != SubmissionStatus.PENDING:
        raise AlreadyDecided(_decided_text(db, item))
    return item


def _decided_text(db: Session, item: Submission) -> str:
    who = db.get(Agent, item.decided_by_id) if item.decided_by_id else None
    when = formatting.local_datetime(item.decided_at) if item.decided_at else "?"
    return f"Élément déjà traité par {who.display_name if who else 'un autre agent'}, le {when}."


def _check_may_decide(db: Session, item: Submission, agent: AgentInfo) -> None:
    """A health request or a health document is decided by who may read it (role matrix)."""
    agent.require(Permission.DESK)
    if is_health_request(item.kind, item.payload):
        agent.require(Permission.HEALTH_DATA)
    if item.document_id is not None:
        document = db.get(Document, item.document_id)
        if document is not None and is_health_document(db, document.document_type_id):
            agent.require(Permission.HEALTH_DATA)


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
    db: Session, *, submission_id: int, agent: AgentInfo, now: datetime, choice: AcceptChoice = NO_CHOICE
) -> Decision:
    """Apply the item to the file, in the caller's transaction (commit it; roll back on error)."""
    item = _pending(db, submission_id)
    _check_may_decide(db, item, agent)
    payload = dict(item.payload)
    _claim(db, item, status=SubmissionStatus.ACCEPTED, agent=agent, reason="", now=now)
    done = apply_item(db, item, payload, agent=agent, choice=choice, now=now)
    _record(db, item, agent=agent, accepted=True, reason="", details=done.details)
    mail_id = (
        _tell(db, item, agent=agent, accepted=True, reason="", details=done.details, verdict=done.verdict)
        if done.tell
        else None
    )
    return Decision(
        submission_id=submission_id,
        accepted=True,
        message=done.message,
        details=done.details,
        mail_id=mail_id,
        verdict=done.verdict,
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


# ----------------------------------------------------------------------------- the desk's decision


@dataclass(frozen=True)
class Refusal:
    """Refusing an item: the reason the family reads; ``keep``: it becomes a template for the item's kind."""

    reason: str
    keep: bool = False


@dataclass(frozen=True)
class Decided:
    """A decision at the desk: done (a ``Decision``), or the choice it needs first (nothing
    written); and the item the desk shows next, read after the decision."""

    outcome: Decision | NeedsChoice
    next_item: ItemDetail | None = None


def decide(
    db: Session,
    *,
    submission_id: int,
    answer: AcceptChoice | Refusal,
    agent: AgentInfo,
    now: datetime,
    next_id: int | None = None,
) -> Decided:
    """Accept the item (with the agent's choices) or refuse it, then read the item ``next_id``
    that the desk shows next, all in the caller's unit of work.

    A decision that needs a choice writes nothing and returns the ``NeedsChoice``."""
    from regie_tui.services.portal.inbox.templates import save_template

    savepoint = db.begin_nested()
    try:
        if isinstance(answer, Refusal):
            if answer.keep:
                kind = get_submission(db, submission_id).kind.value
                save_template(db, text=answer.reason, kind=kind, agent=agent)
            outcome = refuse(db, submission_id=submission_id, agent=agent, reason=answer.reason, now=now)
        else:
            outcome = accept(db, submission_id=submission_id, agent=agent, now=now, choice=answer)
    except NeedsChoice as needs:
        savepoint.rollback()
        return Decided(outcome=needs)
    savepoint.commit()
    following = item_detail(db, submission_id=next_id, agent=agent, now=now) if next_id is not None else None
    return Decided(outcome=outcome, next_item=following)


def reply_to_message(db: Session, *, submission_id: int, body: str, agent: AgentInfo) -> int:
    """Answer a message item through the outbox (marking it done is a decision); the mail's id."""
    from regie_tui.services.portal.messages import reply

    message_id = get_submission(db, submission_id).message_id
    if message_id is None:
        raise RegieError("L'élément n'est pas un message.")
    return reply(db, message_id=message_id, body=body, agent_id=agent.id)
