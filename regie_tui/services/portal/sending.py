"""Sending the outbox over SMTP (`regie mail send`): at most once per mail.

:func:`send_outbox` never sends a mail twice: each mail is committed as ``sending``
before the SMTP server hears of it, and as ``sent`` or ``failed`` after. A mail found
``sending`` at the start of a run (for more than a few minutes: a run still going on is
left alone) was interrupted, the process died while talking to the server: it may have
left, so it is marked failed for an agent to check and requeue, never resent blindly.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from regie_tui.errors import RegieError
from regie_tui.models import MailStatus, OutboxMail
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.common.validation import EMAIL

Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}
SMTP_TIMEOUT_S = 30

INTERRUPTED = "Envoi interrompu : vérifier s'il est parti avant de le renvoyer"
#: A mail still ``sending`` this long after it was handed over was left by a dead run
#: (a live one gives up on a silent server after SMTP_TIMEOUT_S).
INTERRUPTED_AFTER = timedelta(minutes=5)
#: A failed mail is retried by each run until it has been tried this many times in all
#: (an agent may requeue it after that).
MAX_ATTEMPTS = 5
ERROR_MAX = 1000


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: REGIE_SMTP_* variables, overridden by the command line."""

    host: str
    port: int
    security: Security
    user: str
    password: str
    sender: str  # "regie.enfance@ville.fr" or "Régie enfance <regie.enfance@ville.fr>"
    #: TLS context (tests give one trusting their own certificate); default: the system's CAs.
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        security: str | None = None,
        user: str | None = None,
        password: str | None = None,
        sender: str | None = None,
    ) -> SmtpSettings:
        """The settings from the environment, each given argument taking precedence."""
        env = os.environ if env is None else env

        def pick(given: str | None, name: str) -> str:
            return (given if given is not None else env.get(f"REGIE_SMTP_{name}", "")).strip()

        chosen_security = pick(security, "SECURITY").lower() or "starttls"
        if chosen_security not in SECURITIES:
            raise RegieError(
                f"Sécurité SMTP inconnue « {chosen_security} » : choisissez starttls, tls ou none "
                "(REGIE_SMTP_SECURITY ou --security)."
            )
        checked_security: Security = chosen_security
        chosen_host = pick(host, "HOST")
        if not chosen_host:
            raise RegieError("Serveur de courriel non configuré : donnez REGIE_SMTP_HOST ou --host.")
        chosen_sender = pick(sender, "SENDER")
        if not chosen_sender:
            raise RegieError(
                "Adresse d'expédition non configurée : donnez REGIE_SMTP_SENDER ou --sender "
                "(par exemple regie.enfance@ville.fr)."
            )
        if not EMAIL.match(parseaddr(chosen_sender)[1]):
            raise RegieError(f"Adresse d'expédition invalide : « {chosen_sender} ».")
        if port is not None:
            chosen_port = port
        else:
            text = env.get("REGIE_SMTP_PORT", "").strip()
            try:
                chosen_port = int(text) if text else DEFAULT_PORTS[checked_security]
            except ValueError:
                raise RegieError(f"REGIE_SMTP_PORT={text} n'est pas un numéro de port.") from None
        if not 1 <= chosen_port <= 65535:
            raise RegieError(f"Port SMTP invalide : {chosen_port} (entre 1 et 65535).")
        return cls(
            host=chosen_host,
            port=chosen_port,
            security=checked_security,
            user=pick(user, "USER"),
            password=password if password is not None else env.get("REGIE_SMTP_PASSWORD", ""),
            sender=chosen_sender,
        )


@dataclass(frozen=True)
class MailFailure:
    mail_id: int
    to_address: str
    subject: str
    error: str


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: list[MailFailure]
    #: mails found ``sending`` from an earlier run, now failed, to be checked then requeued
    interrupted: list[MailFailure]
    #: why the run stopped before the end (connection lost), or None
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and self.stopped is None


def _session_factory(db_factory: Callable[[], Session] | Engine) -> Callable[[], Session]:
    if isinstance(db_factory, Engine):
        engine = db_factory
        return lambda: Session(engine, expire_on_commit=False)
    return db_factory


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"


def _server_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}".strip()


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """One authenticated connection, or a French RegieError."""
    where = f"{smtp.host}:{smtp.port}"
    context = smtp.ssl_context or ssl.create_default_context()
    client: smtplib.SMTP | None = None
    try:
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_S)
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if smtp.user:
            client.login(smtp.user, smtp.password)
        return client
    except smtplib.SMTPAuthenticationError as exc:
        _close(client)
        raise RegieError(
            f"Le serveur de courriel {where} a refusé l'identifiant ou le mot de passe "
            f"({_server_text(exc.smtp_code, exc.smtp_error)})."
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        _close(client)
        what = "STARTTLS" if smtp.security == "starttls" else "l'authentification"
        raise RegieError(f"Le serveur de courriel {where} ne propose pas {what} ({exc}).") from None
    except ssl.SSLError as exc:
        _close(client)
        raise RegieError(f"Connexion chiffrée impossible avec le serveur de courriel {where} : {exc}.") from None
    except smtplib.SMTPException as exc:
        _close(client)
        raise RegieError(f"Le serveur de courriel {where} a refusé la connexion : {exc}.") from None
    except OSError as exc:
        _close(client)
        raise RegieError(
            f"Impossible de joindre le serveur de courriel {where} : {_network_error(exc)}. "
            "Vérifiez l'adresse, le port et la sécurité (REGIE_SMTP_*)."
        ) from None


def _network_error(error: OSError) -> str:
    """Why the server could not be reached, in French."""
    import socket

    if isinstance(error, ConnectionRefusedError):
        return "connexion refusée (aucun serveur n'écoute sur ce port)"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "pas de réponse dans le délai"
    if isinstance(error, socket.gaierror):
        return "nom de serveur inconnu"
    if isinstance(error, OSError) and error.errno in (101, 113):
        return "réseau injoignable"
    return "erreur réseau"


def _close(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _message(mail: OutboxMail, smtp: SmtpSettings, at: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(at)
    domain = smtp.sender_address.rpartition("@")[2] or "localhost"
    # The same mail always has the same Message-ID: a requeued mail that had in fact left
    # is recognised as a duplicate by most mail programs.
    message["Message-ID"] = f"<regie-outbox-{mail.id}.{mail.created_at:%Y%m%d%H%M%S}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body, charset="utf-8", cte="quoted-printable")
    return message


class _ConnectionLost(Exception):
    """The SMTP connection dropped during a mail: that mail failed, the run stops."""


def _deliver(client: smtplib.SMTP, message: EmailMessage, smtp: SmtpSettings, to_address: str) -> None:
    """Hand one message to the server; RegieError(mail's fault), _ConnectionLost (the run's)."""
    try:
        refused = client.send_message(message, from_addr=smtp.sender_address, to_addrs=[to_address])
    except smtplib.SMTPRecipientsRefused as exc:
        answers = "; ".join(_server_text(code, text) for code, text in exc.recipients.values())
        raise RegieError(f"Adresse « {to_address} » refusée par le serveur : {answers}") from None
    except smtplib.SMTPSenderRefused as exc:
        answer = _server_text(exc.smtp_code, exc.smtp_error)
        raise RegieError(f"Expéditeur « {smtp.sender_address} » refusé par le serveur : {answer}") from None
    except smtplib.SMTPDataError as exc:
        raise RegieError(f"Message refusé par le serveur : {_server_text(exc.smtp_code, exc.smtp_error)}") from None
    except smtplib.SMTPServerDisconnected as exc:
        raise _ConnectionLost(f"Connexion au serveur de courriel perdue : {exc}") from None
    except smtplib.SMTPResponseException as exc:
        raise RegieError(f"Envoi refusé par le serveur : {_server_text(exc.smtp_code, exc.smtp_error)}") from None
    except (smtplib.SMTPException, UnicodeError) as exc:
        raise RegieError(f"Envoi impossible : {exc}") from None
    except OSError as exc:
        raise _ConnectionLost(f"Connexion au serveur de courriel perdue : {exc.strerror or exc}") from None
    if refused:
        answers = "; ".join(_server_text(code, text) for code, text in refused.values())
        raise RegieError(f"Adresse « {to_address} » refusée par le serveur : {answers}")


def _failure(mail: OutboxMail, error: str) -> MailFailure:
    return MailFailure(mail_id=id_of(mail), to_address=mail.to_address, subject=mail.subject, error=error)


def _mark_interrupted(session: Session, at: datetime) -> list[MailFailure]:
    """Mails left ``sending`` by a dead run become failed. One handed over in the last
    minutes may belong to a run still going on (two agents sending at once): left alone."""
    stuck = session.exec(
        select(OutboxMail)
        .where(
            OutboxMail.status == MailStatus.SENDING,
            col(OutboxMail.last_attempt_at).is_(None) | (col(OutboxMail.last_attempt_at) < at - INTERRUPTED_AFTER),
        )
        .order_by(col(OutboxMail.id))
    )
    found = []
    for mail in stuck.all():
        mail.status = MailStatus.FAILED
        mail.error = INTERRUPTED
        found.append(_failure(mail, INTERRUPTED))
    session.commit()
    return found


def _waiting_ids(session: Session) -> list[int]:
    retry = (
        (col(OutboxMail.status) == MailStatus.FAILED)
        & (col(OutboxMail.error) != INTERRUPTED)
        & (col(OutboxMail.attempts) < MAX_ATTEMPTS)
    )
    return list(
        session.exec(
            select(id_col(OutboxMail.id))
            .where((col(OutboxMail.status) == MailStatus.TO_SEND) | retry)
            .order_by(col(OutboxMail.id))
        ).all()
    )


def _claim(session: Session, mail_id: int, at: datetime) -> OutboxMail | None:
    """Mark the mail ``sending`` and commit, unless another run took it first."""
    claimed = session.execute(
        update(OutboxMail)
        .where(
            col(OutboxMail.id) == mail_id,
            col(OutboxMail.status).in_([MailStatus.TO_SEND, MailStatus.FAILED]),
            col(OutboxMail.error) != INTERRUPTED,
        )
        .values(status=MailStatus.SENDING, attempts=OutboxMail.attempts + 1, last_attempt_at=at)
        .returning(col(OutboxMail.id))
    ).first()
    session.commit()
    if claimed is None:
        return None
    return session.get(OutboxMail, mail_id, populate_existing=True)


def send_outbox(
    db_factory: Callable[[], Session] | Engine, *, smtp: SmtpSettings, now: Callable[[], datetime]
) -> SendReport:
    """Send what waits in the outbox over one SMTP connection; see the module's docstring.

    Raises RegieError (nothing marked) when the server cannot be reached or refuses the login.
    """
    new_session = _session_factory(db_factory)
    with new_session() as session:
        interrupted = _mark_interrupted(session, now())
        waiting = _waiting_ids(session)
    if not waiting:
        return SendReport(sent=0, failed=[], interrupted=interrupted)
    client = _connect(smtp)
    sent = 0
    failed: list[MailFailure] = []
    stopped: str | None = None
    try:
        with new_session() as session:
            for mail_id in waiting:
                at = now()
                mail = _claim(session, mail_id, at)
                if mail is None:
                    continue
                message = _message(mail, smtp, at)
                session.commit()  # nothing held while the SMTP server answers (SQLite: other desks write)
                try:
                    _deliver(client, message, smtp, mail.to_address)
                except RegieError as exc:
                    mail.status, mail.error = MailStatus.FAILED, _clip(exc.message)
                    failed.append(_failure(mail, mail.error))
                except _ConnectionLost as exc:
                    mail.status, mail.error = MailStatus.FAILED, _clip(str(exc))
                    failed.append(_failure(mail, mail.error))
                    stopped = str(exc)
                else:
                    mail.status, mail.error, mail.sent_at = MailStatus.SENT, "", now()
                    sent += 1
                session.commit()
                if stopped is not None:
                    break
    finally:
        _close(client)
    return SendReport(sent=sent, failed=failed, interrupted=interrupted, stopped=stopped)
