"""Messages: answering a family (message + e-mail in the outbox) and marking a message dealt with."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, func, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    AuditEntry,
    MailStatus,
    Message,
    MessageDirection,
    OutboxMail,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from regie_tui.services.common.sql import id_of
from regie_tui.services.portal.messages import family_messages, mark_done, message_view, reply
from regie_tui.services.portal.pending import pending_counts
from regie_tui.services.trust.agents import add_agent, resolve_agent

from builders import add_family

SENT = datetime(2026, 11, 23, 7, 20, tzinfo=UTC)


@pytest.fixture
def db(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def agent(db):
    me = resolve_agent(db, "mdupont")
    db.commit()
    return me


def incoming(db, family_id: int, *, subject="Absence de Sabine", body="Sabine sera absente mercredi.\nMerci.", at=SENT):
    """An incoming message and the pending portal submission that carried it."""
    message = Message(
        family_id=family_id,
        direction=MessageDirection.INCOMING,
        recipient="Service enfance-jeunesse",
        subject=subject,
        body=body,
        sent_at=at,
    )
    db.add(message)
    db.flush()
    submission = Submission(
        portal_id=f"p-msg-{message.id}",
        content_sha256="0" * 64,
        kind=SubmissionKind.MESSAGE,
        family_id=family_id,
        account="nicole.dubois@yahoo.fr",
        submitted_at=at,
        status=SubmissionStatus.PENDING,
        summary=f"Message : {subject}",
        payload={"subject": subject, "body": body},
        message_id=message.id,
    )
    db.add(submission)
    db.commit()
    return message.id, submission.id


@pytest.fixture
def dubois(db):
    family_id = add_family(
        db,
        "DUBOIS",
        guardians=[
            ("Nicole", "Dubois", "07 47 06 90 05", "nicole.dubois@yahoo.fr"),
            ("Marc", "Dubois", "", "marc@exemple.fr"),
        ],
        children=[("Sabine", date(2018, 3, 4))],
    )
    db.commit()
    return family_id


def test_the_reply_is_in_the_outbox_with_the_familys_address(db, agent, dubois):
    message_id, submission_id = incoming(db, dubois)
    reply_id = reply(
        db, message_id=message_id, body="  Bonjour, c'est noté. Bon rétablissement à Sabine.  ", agent_id=agent.id
    )
    db.commit()

    mail = db.exec(select(OutboxMail)).one()
    assert mail.to_address == "nicole.dubois@yahoo.fr"  # the payer's address
    assert mail.subject == "Re : Absence de Sabine"
    assert mail.status is MailStatus.TO_SEND and mail.family_id == dubois
    assert mail.body.startswith("Bonjour, c'est noté. Bon rétablissement à Sabine.")
    assert "> Sabine sera absente mercredi." in mail.body and "> Merci." in mail.body
    assert "23/11/2026 08:20" in mail.body  # the family's message, in Paris time
    assert mail.submission_id == submission_id and mail.created_by_id == agent.id

    answer = message_view(db, message_id=reply_id)
    assert answer.direction is MessageDirection.OUTGOING and answer.reply_to_id == message_id
    assert answer.recipient == "Nicole DUBOIS" and answer.family_name == "DUBOIS"
    assert answer.body == "Bonjour, c'est noté. Bon rétablissement à Sabine."
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "message_reply")).one()
    assert (entry.entity, entry.entity_id, entry.family_id, entry.agent_id) == ("message", reply_id, dubois, agent.id)
    assert entry.after == {"reply_to": message_id, "subject": "Re : Absence de Sabine", "mail": mail.id}
    # Answering does not mark the message dealt with: it stays in the bannette until marked.
    assert not message_view(db, message_id=message_id).done
    assert pending_counts(db).messages == 1


def test_the_familys_messages_newest_first_with_their_replies(db, agent, dubois):
    old_id, _ = incoming(db, dubois, subject="Question sur la facture", at=SENT - timedelta(days=3))
    new_id, _ = incoming(db, dubois)
    reply_id = reply(db, message_id=old_id, body="Nous vérifions.", agent_id=agent.id)
    db.commit()

    listed = family_messages(db, family_id=dubois)
    assert [m.id for m in listed] == [reply_id, new_id, old_id]
    by_id = {m.id: m for m in listed}
    assert [r.id for r in by_id[old_id].replies] == [reply_id]
    assert by_id[new_id].replies == []
    assert by_id[old_id].direction is MessageDirection.INCOMING and not by_id[old_id].done
    assert by_id[reply_id].done  # nothing waits on an answer
    assert [r.body for r in message_view(db, message_id=old_id).replies] == ["Nous vérifions."]
    with pytest.raises(NotFound, match="Famille n° 999 introuvable"):
        family_messages(db, family_id=999)
    with pytest.raises(NotFound, match="Message n° 999 introuvable"):
        message_view(db, message_id=999)


def test_a_reply_of_the_wrong_length_is_refused_and_nothing_written(db, agent, dubois):
    message_id, _ = incoming(db, dubois)
    with pytest.raises(RegieError, match="Réponse : le texte est obligatoire"):
        reply(db, message_id=message_id, body=" \n ", agent_id=agent.id)
    with pytest.raises(RegieError, match="Réponse : 10\u00a0000 caractères au plus"):
        reply(db, message_id=message_id, body="x" * 10_001, agent_id=agent.id)
    with pytest.raises(NotFound, match="Message n° 999 introuvable"):
        reply(db, message_id=999, body="Bonjour", agent_id=agent.id)
    db.rollback()
    assert db.exec(select(func.count()).select_from(OutboxMail)).one() == 0
    assert db.exec(select(func.count()).select_from(Message)).one() == 1
    # The longest answer fits, quote of the family's message included.
    reply(db, message_id=message_id, body="x" * 10_000, agent_id=agent.id)
    db.commit()
    assert len(db.exec(select(OutboxMail.body)).one()) > 10_000


def test_a_second_answer_keeps_one_re(db, agent, dubois):
    message_id, _ = incoming(db, dubois, subject="Re : Changement d'horaires")
    reply_id = reply(db, message_id=message_id, body="Oui, c'est possible.", agent_id=agent.id)
    db.commit()
    assert message_view(db, message_id=reply_id).subject == "Re : Changement d'horaires"


def test_a_family_without_address_gets_the_answer_on_the_portal_only(db, agent):
    family_id = add_family(db, "MARTIN", guardians=[("Paul", "Martin", "", "")])
    message_id, _ = incoming(db, family_id)
    reply_id = reply(db, message_id=message_id, body="Bien reçu.", agent_id=agent.id)
    db.commit()
    assert db.exec(select(func.count()).select_from(OutboxMail)).one() == 0
    assert message_view(db, message_id=reply_id).body == "Bien reçu."


def test_the_submission_is_no_longer_pending_after_mark_done(db, agent, dubois):
    message_id, submission_id = incoming(db, dubois)
    assert pending_counts(db).messages == 1
    mark_done(db, message_id=message_id, agent_id=agent.id)
    db.commit()

    assert pending_counts(db).messages == 0
    assert pending_counts(db, family_id=dubois).messages == 0
    submission = db.get(Submission, submission_id, populate_existing=True)
    assert submission.status is SubmissionStatus.ACCEPTED
    assert submission.decided_by_id == agent.id and submission.decided_at is not None
    assert submission.version == 2
    view = message_view(db, message_id=message_id)
    assert view.done and view.read_at is not None and view.read_by == "mdupont"
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "message_done")).one()
    assert (entry.entity, entry.entity_id, entry.family_id, entry.agent_id) == ("message", message_id, dubois, agent.id)
    assert entry.after["submission"] == submission_id


def test_a_message_already_dealt_with_says_by_whom(db, agent, dubois):
    message_id, _ = incoming(db, dubois)
    colleague = add_agent(db, login="jpetit", role=agent.role, display_name="Julie Petit", by=agent)
    mark_done(db, message_id=message_id, agent_id=colleague.id)
    db.commit()
    with pytest.raises(RegieError, match=r"Ce message a déjà été traité par Julie Petit le \d\d/\d\d/\d{4} \d\d:\d\d"):
        mark_done(db, message_id=message_id, agent_id=agent.id)
    db.rollback()
    assert db.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "message_done")).one() == 1


def test_only_incoming_messages_are_marked_done(db, agent, dubois):
    message_id, _ = incoming(db, dubois)
    reply_id = reply(db, message_id=message_id, body="Bien reçu.", agent_id=agent.id)
    db.commit()
    with pytest.raises(RegieError, match="Seul un message reçu d'une famille"):
        mark_done(db, message_id=reply_id, agent_id=agent.id)
    with pytest.raises(NotFound, match="Message n° 999 introuvable"):
        mark_done(db, message_id=999, agent_id=agent.id)


def test_a_message_without_submission_is_marked_done_too(db, agent, dubois):
    message = Message(
        family_id=dubois, direction=MessageDirection.INCOMING, subject="Bonjour", body="Test", sent_at=SENT
    )
    db.add(message)
    db.commit()
    mark_done(db, message_id=id_of(message), agent_id=agent.id)
    db.commit()
    read_at = db.exec(select(Message.read_at).where(col(Message.id) == message.id)).one()
    assert read_at is not None
