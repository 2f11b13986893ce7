"""Messages of 'Contacter la structure': reading them, answering, marking them dealt with.

An incoming message is *done* once an agent has marked it (``read_at``/``read_by_id``);
the portal submission that carried it then leaves the bannette. An answer is an outgoing
message (``reply_to_id``) and an e-mail to the family through the outbox. Answering and
marking done are separate: an agent may answer twice, or deal with a message without a word.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from regie_tui import formatting
from regie_tui.clock import utc_now
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    Agent,
    Family,
    Guardian,
    Message,
    MessageDirection,
    Submission,
    SubmissionStatus,
)
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import check_characters
from regie_tui.services.portal import outbox
from regie_tui.services.trust import audit

BODY_MAX = 10_000
SUBJECT_MAX = 200
RECIPIENT_MAX = 120
REPLY_PREFIX = "Re : "
QUOTE_MAX = 8000  # the outbox takes 20,000 characters: the answer (10,000) and the quote fit


@dataclass(frozen=True)
class MessageView:
    id: int
    family_id: int
    family_name: str
    direction: MessageDirection
    recipient: str
    subject: str
    body: str
    sent_at: datetime
    read_at: datetime | None
    read_by: str  # the agent who marked it done ("" while not done)
    reply_to_id: int | None
    done: bool  # an outgoing message is always done: nothing waits on it
    replies: list["MessageView"] = field(default_factory=list)  # answers to it, oldest first


def _views(rows: list[tuple[Message, str, str | None]]) -> list[MessageView]:
    """Views of ``rows`` (message, family name, reader), each with the replies found among them."""
    replies: dict[int, list[MessageView]] = {}
    for message, family_name, reader in sorted(rows, key=lambda r: (r[0].sent_at, id_of(r[0]))):
        if message.reply_to_id is not None:
            replies.setdefault(message.reply_to_id, []).append(_view(message, family_name, reader, []))
    return [
        _view(message, family_name, reader, replies.get(id_of(message), []))
        for message, family_name, reader in sorted(rows, key=lambda r: (r[0].sent_at, id_of(r[0])), reverse=True)
    ]


def _view(message: Message, family_name: str, reader: str | None, replies: list[MessageView]) -> MessageView:
    return MessageView(
        id=id_of(message),
        family_id=message.family_id,
        family_name=family_name,
        direction=message.direction,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        sent_at=message.sent_at,
        read_at=message.read_at,
        read_by=reader or "",
        reply_to_id=message.reply_to_id,
        done=message.direction is MessageDirection.OUTGOING or message.read_at is not None,
        replies=replies,
    )


def _query() -> Select[Message, str, str]:
    """Messages with their family's name and the name of the agent who marked them done (outer join: may be None)."""
    return (
        select(Message, Family.name, Agent.display_name)
        .join(Family, col(Family.id) == col(Message.family_id))
        .outerjoin(Agent, col(Agent.id) == col(Message.read_by_id))
    )


def family_messages(db: Session, *, family_id: int) -> list[MessageView]:
    """Every message of the family, incoming and outgoing, newest first."""
    if db.get(Family, family_id) is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    rows = db.exec(_query().where(Message.family_id == family_id)).all()
    return _views([(m, name, reader) for m, name, reader in rows])


def message_view(db: Session, *, message_id: int) -> MessageView:
    """One message, with the answers sent to it."""
    row = db.exec(_query().where(Message.id == message_id)).first()
    if row is None:
        raise NotFound(f"Message n° {message_id} introuvable.")
    message, family_name, reader = row
    answers = db.exec(_query().where(Message.reply_to_id == message_id)).all()
    found = _views([(message, family_name, reader), *((m, n, r) for m, n, r in answers)])
    return next(v for v in found if v.id == message_id)


def _submission_of(db: Session, message_id: int) -> Submission | None:
    """The portal submission that brought the message in (the latest, should there be several)."""
    return db.exec(
        select(Submission).where(Submission.message_id == message_id).order_by(col(Submission.id).desc())
    ).first()


def _recipient(db: Session, family: Family) -> str:
    """The family as an answer names it: its payer ('Nicole DUBOIS'), else its name."""
    payer = db.exec(
        select(Guardian)
        .where(Guardian.family_id == family.id)
        .order_by(col(Guardian.is_payer).desc(), col(Guardian.id))
    ).first()
    name = f"{payer.first_name} {payer.last_name.upper()}" if payer else family.name
    return name[:RECIPIENT_MAX]


def reply_subject(subject: str) -> str:
    """'Re : Absence de Sabine' (never 'Re : Re : …'), within the column's length."""
    text = subject if subject.lower().startswith(("re :", "re:")) else REPLY_PREFIX + subject
    return text[:SUBJECT_MAX]


def _mail_body(body: str, original: Message) -> str:
    """The answer, then the family's message quoted (cut short to keep the mail within bounds)."""
    text = original.body if len(original.body) <= QUOTE_MAX else original.body[: QUOTE_MAX - 1] + "…"
    quoted = "\n".join("> " + line for line in text.splitlines())
    return (
        f"{body}\n\n"
        f"--- Votre message du {formatting.local_datetime(original.sent_at)} : « {original.subject} » ---\n"
        f"{quoted}\n"
    )


def reply(db: Session, *, message_id: int, body: str, agent_id: int) -> int:
    """Answer a message: an outgoing message and its e-mail in the outbox; the new message's id."""
    text = body.strip()
    if not text:
        raise RegieError("Réponse : le texte est obligatoire.")
    check_characters(text, "Réponse", multiline=True)
    if len(text) > BODY_MAX:
        raise RegieError(
            f"Réponse : {formatting.number(BODY_MAX)} caractères au plus ({formatting.number(len(text))} saisis)."
        )
    original = db.get(Message, message_id)
    if original is None:
        raise NotFound(f"Message n° {message_id} introuvable.")
    family = db.get(Family, original.family_id)
    assert family is not None  # a foreign key
    if family.archived_at is not None:
        raise RegieError(f"La famille {family.name} est archivée : on ne peut plus lui écrire.")
    answer = Message(
        family_id=original.family_id,
        direction=MessageDirection.OUTGOING,
        recipient=_recipient(db, family),
        subject=reply_subject(original.subject),
        body=text,
        sent_at=utc_now(),
        reply_to_id=message_id,
    )
    db.add(answer)
    db.flush()
    submission = _submission_of(db, message_id)
    mail_id = outbox.queue_mail(
        db,
        family_id=original.family_id,
        subject=answer.subject,
        body=_mail_body(text, original),
        agent_id=agent_id,
        submission_id=submission.id if submission is not None else None,
    )
    audit.record(
        db,
        action="message_reply",
        entity="message",
        entity_id=answer.id,
        agent_id=agent_id,
        family_id=original.family_id,
        after={"reply_to": message_id, "subject": answer.subject, "mail": mail_id},
    )
    db.flush()
    return id_of(answer)


def mark_done(db: Session, *, message_id: int, agent_id: int) -> None:
    """Mark an incoming message dealt with; the submission that carried it leaves the bannette.

    Two agents on the same message: the second is told who dealt with it, and when.
    """
    message = db.get(Message, message_id)
    if message is None:
        raise NotFound(f"Message n° {message_id} introuvable.")
    if message.direction is not MessageDirection.INCOMING:
        raise RegieError("Seul un message reçu d'une famille se marque comme traité.")
    now = utc_now()
    marked = db.exec(
        update(Message)
        .where(col(Message.id) == message_id, col(Message.read_at).is_(None))
        .values(read_at=now, read_by_id=agent_id)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        db.refresh(message)
        reader = db.get(Agent, message.read_by_id) if message.read_by_id is not None else None
        who = f" par {reader.display_name}" if reader is not None else ""
        raise RegieError(f"Ce message a déjà été traité{who} le {formatting.local_datetime(message.read_at)}.")
    db.refresh(message)
    submission = _submission_of(db, message_id)
    accepted: int | None = None
    if submission is not None and submission.status is SubmissionStatus.PENDING:
        decided = db.exec(
            update(Submission)
            .where(
                col(Submission.id) == submission.id,
                col(Submission.status) == SubmissionStatus.PENDING,
                col(Submission.version) == submission.version,
            )
            .values(
                status=SubmissionStatus.ACCEPTED,
                decided_by_id=agent_id,
                decided_at=now,
                version=submission.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if decided.rowcount != 1:
            raise RegieError("Cette demande vient d'être décidée par un autre agent : rechargez la bannette.")
        accepted = submission.id
        db.refresh(submission)
    audit.record(
        db,
        action="message_done",
        entity="message",
        entity_id=message_id,
        agent_id=agent_id,
        family_id=message.family_id,
        before={"read_at": None},
        after={"read_at": now.isoformat(), "submission": accepted},
    )
    db.flush()
