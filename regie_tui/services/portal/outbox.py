"""The outbox: French e-mails to families, written with each decision, sent by `regie mail send`.

A mail is queued (``to_send``) in the transaction of the decision that causes it; it is
sent by :func:`~.sending.send_outbox` (at most once). The screen and the CLI list the
mails, show one, and requeue a failed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Family, Guardian, MailStatus, OutboxMail, PortalAccount, Regie, Town
from regie_tui.services.common.sql import id_col, id_of, select_columns
from regie_tui.services.trust import audit

SUBJECT_MAX = 200
BODY_MAX = 20_000


# ------------------------------------------------------------------------- writing mails


def family_address(db: Session, *, family_id: int) -> str | None:
    """The payer guardian's e-mail, else another guardian's, else the portal account's."""
    guardians = db.exec(
        select(Guardian.email)
        .where(Guardian.family_id == family_id, Guardian.email != "")
        .order_by(col(Guardian.is_payer).desc(), col(Guardian.id))
    ).all()
    for email in guardians:
        if email.strip():
            return email.strip()
    account = db.exec(select(PortalAccount.email).where(PortalAccount.family_id == family_id)).first()
    return account.strip() if account and account.strip() else None


def queue_mail(
    db: Session,
    *,
    family_id: int,
    subject: str,
    body: str,
    agent_id: int | None,
    submission_id: int | None = None,
) -> int | None:
    """Queue a mail to the family (in the caller's transaction); None when it has no address."""
    address = family_address(db, family_id=family_id)
    if address is None:
        return None
    if len(body) > BODY_MAX:
        raise RegieError(f"Courriel trop long ({len(body)} caractères, {BODY_MAX} au plus).")
    subject = " ".join(subject.split())
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    mail = OutboxMail(
        family_id=family_id,
        to_address=address,
        subject=subject,
        body=body,
        created_by_id=agent_id,
        submission_id=submission_id,
        status=MailStatus.TO_SEND,
    )
    db.add(mail)
    db.flush()
    audit.record(
        db,
        action="create",
        entity="outbox_mail",
        entity_id=mail.id,
        agent_id=agent_id,
        family_id=family_id,
        after={"to": address, "subject": subject},
    )
    return id_of(mail)


def _signature(db: Session) -> list[str]:
    town = db.get(Town, 1)
    if town is None:
        regie = db.exec(select(Regie.name).order_by(col(Regie.id))).first()
        return [regie or "Le service enfance"]
    lines = [town.service_name, town.name]
    if town.address or town.city:
        lines.append(", ".join(part for part in (town.address, f"{town.postal_code} {town.city}".strip()) if part))
    contact = " · ".join(part for part in (town.phone, town.email) if part)
    if contact:
        lines.append(contact)
    return lines


def decision_body(
    db: Session,
    *,
    family_id: int,
    asked: str,
    accepted: bool,
    reason: str = "",
    details: Sequence[str] = (),
    verdict: str = "",
) -> str:
    """The French text of a decision mail (what was asked, the decision, why, the service);
    ``verdict`` words a decision that is neither plain acceptance nor refusal ("placée sur liste d'attente")."""
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    decision = verdict or ("acceptée" if accepted else "refusée")
    head = [f"Bonjour Famille {family.name},", "", "Vous nous avez adressé la demande suivante :", f"  {asked}", ""]
    head.append(f"Nous vous informons qu'elle a été {decision}.")
    if not accepted and reason.strip():
        head += ["", f"Motif : {reason.strip()}"]
    tail = [""]
    town = db.get(Town, 1)
    if town is not None and town.phone:
        tail.append(f"Pour toute question, contactez-nous par l'Espace famille ou au {town.phone}.")
    else:
        tail.append("Pour toute question, contactez-nous par l'Espace famille.")
    tail += ["", "Cordialement,", "", *_signature(db), ""]
    budget = BODY_MAX - len("\n".join(head + tail)) - 200
    lines: list[str] = []
    if details:
        lines = ["", "Détail :"]
        for position, detail in enumerate(details):
            line = f"  - {detail}"
            if budget - len(line) - 1 < 0:
                lines.append(f"  … et {len(details) - position} autre(s) ligne(s), visibles dans l'Espace famille.")
                break
            budget -= len(line) + 1
            lines.append(line)
    return "\n".join(head + lines + tail)


def decision_mail(
    db: Session,
    *,
    family_id: int,
    asked: str,
    accepted: bool,
    reason: str = "",
    details: Sequence[str] = (),
    agent_id: int | None,
    submission_id: int | None = None,
    verdict: str = "",
) -> int | None:
    """Queue the mail telling the family its request was accepted or refused; None when no address."""
    body = decision_body(
        db, family_id=family_id, asked=asked, accepted=accepted, reason=reason, details=details, verdict=verdict
    )
    subject = f"Votre demande a été {verdict or ('acceptée' if accepted else 'refusée')}"
    return queue_mail(
        db, family_id=family_id, subject=subject, body=body, agent_id=agent_id, submission_id=submission_id
    )


# ------------------------------------------------------------------------- screen and CLI


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    family_id: int | None
    family_name: str
    to_address: str
    subject: str
    status: MailStatus
    attempts: int
    last_attempt_at: datetime | None
    sent_at: datetime | None
    error: str

    @property
    def state(self) -> str:
        """What the agent reads: 'À envoyer', 'En cours', 'Envoyé le …', 'Échec : …'."""
        if self.status is MailStatus.SENT:
            return f"Envoyé le {formatting.local_datetime(self.sent_at)}"
        if self.status is MailStatus.FAILED:
            return f"Échec : {self.error}"
        if self.status is MailStatus.SENDING:
            return "En cours"
        return "À envoyer"


@dataclass(frozen=True)
class OutboxMailView:
    row: OutboxRow
    body: str


_ROW_COLUMNS = (
    id_col(OutboxMail.id),
    col(OutboxMail.created_at),
    col(OutboxMail.family_id),
    col(Family.name),
    col(OutboxMail.to_address),
    col(OutboxMail.subject),
    col(OutboxMail.status),
    col(OutboxMail.attempts),
    col(OutboxMail.last_attempt_at),
    col(OutboxMail.sent_at),
    col(OutboxMail.error),
)


def _row(values: Sequence[Any]) -> OutboxRow:
    mail_id, created, family_id, family_name, to, subject, status, attempts, last, sent_at, error = values
    return OutboxRow(
        id=mail_id,
        created_at=created,
        family_id=family_id,
        family_name=family_name or "",
        to_address=to,
        subject=subject,
        status=MailStatus(status),
        attempts=attempts,
        last_attempt_at=last,
        sent_at=sent_at,
        error=error,
    )


def outbox_page(db: Session, *, status: MailStatus | None, limit: int = 200) -> list[OutboxRow]:
    """The latest mails (of one status, or all), newest first."""
    query = select_columns(*_ROW_COLUMNS).outerjoin(Family, col(Family.id) == OutboxMail.family_id)
    if status is not None:
        query = query.where(col(OutboxMail.status) == status)
    rows = db.exec(query.order_by(col(OutboxMail.id).desc()).limit(limit)).all()
    return [_row(values) for values in rows]


def outbox_mail(db: Session, *, mail_id: int) -> OutboxMailView:
    """One mail with its text, as the family receives it."""
    values = db.exec(
        select_columns(*_ROW_COLUMNS, col(OutboxMail.body))
        .outerjoin(Family, col(Family.id) == OutboxMail.family_id)
        .where(col(OutboxMail.id) == mail_id)
    ).first()
    if values is None:
        raise NotFound(f"Courriel n° {mail_id} introuvable.")
    return OutboxMailView(row=_row(values[:-1]), body=values[-1])


def requeue(db: Session, *, mail_id: int, agent_id: int) -> None:
    """Put a failed (or interrupted) mail back to be sent by the next run."""
    mail = db.exec(select(OutboxMail).where(OutboxMail.id == mail_id).with_for_update()).first()
    if mail is None:
        raise NotFound(f"Courriel n° {mail_id} introuvable.")
    if mail.status is MailStatus.SENT:
        raise RegieError(f"Le courriel n° {mail_id} est déjà parti le {formatting.local_datetime(mail.sent_at)}.")
    if mail.status is MailStatus.TO_SEND:
        raise RegieError(f"Le courriel n° {mail_id} attend déjà le prochain envoi.")
    if mail.status is MailStatus.SENDING:
        raise RegieError(f"Le courriel n° {mail_id} est en cours d'envoi.")
    before = {"status": mail.status.value, "error": mail.error}
    mail.status, mail.error = MailStatus.TO_SEND, ""
    db.add(mail)
    audit.record(
        db,
        action="update",
        entity="outbox_mail",
        entity_id=mail_id,
        agent_id=agent_id,
        family_id=mail.family_id,
        before=before,
        after={"status": MailStatus.TO_SEND.value},
    )
    db.flush()
