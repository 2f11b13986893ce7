"""The outbox: decision mails to families, sent to a real SMTP server on loopback."""

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.errors import RegieError
from regie_tui.models import AuditEntry, Family, Guardian, MailStatus, OutboxMail, PortalAccount, Town
from regie_tui.services.portal.outbox import (
    decision_mail,
    family_address,
    outbox_mail,
    outbox_page,
    queue_mail,
    requeue,
)
from regie_tui.services.portal.sending import INTERRUPTED, SmtpSettings, send_outbox
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN

SENDER = "Pôle enfance <regie.enfance@rivebelle.fr>"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def clock(start=NOW):
    """A `now` for send_outbox: a second later at each call."""
    ticks = iter(range(10_000))
    return lambda: start + timedelta(seconds=next(ticks))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Recorder:
    """An SMTP handler keeping what it accepts; refuses the addresses in ``refuse`` (550)."""

    def __init__(self, refuse=()):
        self.refuse = set(refuse)
        self.messages = []  # (envelope recipients, parsed message)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), envelope.mail_from, message))
        return "250 Message accepted for delivery"

    @property
    def recipients(self):
        return [to for tos, _, _ in self.messages for to in tos]


@pytest.fixture
def smtp_server():
    """start(refuse=(), **smtp_options) -> (recorder, port): an aiosmtpd server on 127.0.0.1."""
    controllers = []

    def start(refuse=(), **options):
        recorder = Recorder(refuse)
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return recorder, port

    yield start
    for controller in controllers:
        controller.stop()


def settings(port, **changes):
    values = {"host": "127.0.0.1", "port": port, "security": "none", "user": "", "password": "", "sender": SENDER}
    return SmtpSettings(**(values | changes))


@pytest.fixture
def town(fresh_town_url):
    engine = make_engine(fresh_town_url)
    yield engine
    engine.dispose()


def families(session, count):
    """The first families having a guardian with an e-mail, with that family's address."""
    found = []
    for family in session.exec(select(Family).order_by(col(Family.id))).all():
        address = family_address(session, family_id=family.id)
        if address:
            found.append((family, address))
        if len(found) == count:
            return found
    raise AssertionError("not enough families with an e-mail in the test town")


def queue_decisions(engine, count):
    """``count`` decision mails to different families; their (mail id, family, address)."""
    with Session(engine, expire_on_commit=False) as session:
        queued = []
        for family, address in families(session, count):
            mail_id = decision_mail(
                session,
                family_id=family.id,
                asked="Modification : téléphone portable → 06 11 22 33 44",
                accepted=True,
                agent_id=None,
            )
            queued.append((mail_id, family, address))
        session.commit()
    return queued


def admin_id(session):
    return resolve_agent(session, ADMIN_LOGIN).id


def statuses(engine):
    with Session(engine, expire_on_commit=False) as session:
        return {m.id: m for m in session.exec(select(OutboxMail)).all()}


# ----------------------------------------------------------------------------- writing


def test_address_is_the_payers_then_another_guardians_then_the_portal_accounts(town):
    with Session(town, expire_on_commit=False) as session:
        family, guardians = next(
            (f, gs)
            for f, _ in families(session, 12)
            if len(gs := session.exec(select(Guardian).where(Guardian.family_id == f.id)).all()) > 1
        )
        guardians = sorted(guardians, key=lambda g: not g.is_payer)
        payer, *others = guardians
        payer.email, others[0].email = "payeur@exemple.fr", "autre@exemple.fr"
        session.add_all([payer, others[0]])
        session.flush()
        assert family_address(session, family_id=family.id) == "payeur@exemple.fr"
        payer.email = ""
        session.add(payer)
        session.flush()
        assert family_address(session, family_id=family.id) == "autre@exemple.fr"
        for guardian in guardians:
            guardian.email = ""
            session.add(guardian)
        account = session.exec(select(PortalAccount).where(PortalAccount.family_id == family.id)).one()
        session.flush()
        assert family_address(session, family_id=family.id) == account.email
        session.delete(account)
        session.flush()
        assert family_address(session, family_id=family.id) is None
        assert queue_mail(session, family_id=family.id, subject="x", body="y", agent_id=None) is None
        assert decision_mail(session, family_id=family.id, asked="x", accepted=True, agent_id=None) is None


def test_decision_mails_say_what_was_asked_the_decision_and_why(town):
    with Session(town, expire_on_commit=False) as session:
        (family, address), (other, _) = families(session, 2)
        town_row = session.get(Town, 1)
        assert town_row is not None
        accepted_id = decision_mail(
            session,
            family_id=family.id,
            asked="Modification : téléphone portable de Nicole Dubois → 06 11 22 33 44",
            accepted=True,
            agent_id=None,
        )
        assert accepted_id is not None
        refused_id = decision_mail(
            session,
            family_id=other.id,
            asked="Réservations de Sabine : 3 jours",
            accepted=False,
            reason="Le délai de prévenance est dépassé.",
            details=["mercredi 25/11/2026 : délai dépassé", "jeudi 26/11/2026 : complet"],
            agent_id=None,
        )
        assert refused_id is not None
        session.commit()
        accepted = outbox_mail(session, mail_id=accepted_id)
        refused = outbox_mail(session, mail_id=refused_id)

    assert accepted.row.subject == "Votre demande a été acceptée"
    assert accepted.row.to_address == address and accepted.row.state == "À envoyer"
    assert accepted.body.startswith(f"Bonjour Famille {family.name},")
    assert "Modification : téléphone portable de Nicole Dubois → 06 11 22 33 44" in accepted.body
    assert "a été acceptée" in accepted.body and "Motif" not in accepted.body
    assert town_row.service_name in accepted.body and town_row.name in accepted.body

    assert refused.row.subject == "Votre demande a été refusée"
    assert refused.body.startswith(f"Bonjour Famille {other.name},")
    assert "a été refusée" in refused.body
    assert "Motif : Le délai de prévenance est dépassé." in refused.body
    assert "  - mercredi 25/11/2026 : délai dépassé\n  - jeudi 26/11/2026 : complet" in refused.body


def test_a_very_long_list_of_details_is_cut_to_fit_the_mail(town):
    with Session(town, expire_on_commit=False) as session:
        family, _ = families(session, 1)[0]
        details = [f"jour {n} : complet, la capacité de l'accueil est atteinte ce jour-là" for n in range(800)]
        mail_id = decision_mail(
            session, family_id=family.id, asked="Réservations", accepted=False, details=details, agent_id=None
        )
        assert mail_id is not None
        body = outbox_mail(session, mail_id=mail_id).body
    assert len(body) <= 20_000
    assert "autre(s) ligne(s)" in body and "Cordialement" in body


# ----------------------------------------------------------------------------- sending


def test_send_delivers_each_mail_once_and_a_refused_recipient_fails_alone(town, smtp_server):
    queued = queue_decisions(town, 3)
    refused_id, refused_family, refused_address = queued[1]
    server, port = smtp_server(refuse={refused_address})

    report = send_outbox(town, smtp=settings(port), now=clock())

    assert report.sent == 2 and not report.interrupted and report.stopped is None
    assert [f.mail_id for f in report.failed] == [refused_id]
    assert "550" in report.failed[0].error and refused_address in report.failed[0].error
    assert sorted(server.recipients) == sorted(a for i, _, a in queued if i != refused_id)
    tos, mail_from, message = server.messages[0]
    assert mail_from == "regie.enfance@rivebelle.fr"
    assert message["From"] == SENDER and message["To"] == tos[0]
    assert message["Subject"] == "Votre demande a été acceptée"
    assert message["Date"] and message["Message-ID"].startswith("<regie-outbox-")
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().startswith(f"Bonjour Famille {queued[0][1].name},")
    mails = statuses(town)
    assert mails[refused_id].status == MailStatus.FAILED and "550" in mails[refused_id].error
    for mail_id, _, _ in queued:
        assert mails[mail_id].attempts == 1 and mails[mail_id].last_attempt_at is not None
        if mail_id != refused_id:
            assert mails[mail_id].status == MailStatus.SENT and mails[mail_id].sent_at > NOW

    # Next run: the failed mail is tried again, nothing is sent twice.
    again = send_outbox(town, smtp=settings(port), now=clock())
    assert again.sent == 0 and [f.mail_id for f in again.failed] == [refused_id]
    assert len(server.messages) == 2
    assert statuses(town)[refused_id].attempts == 2
    server.refuse.clear()  # the family's mailbox works again
    third = send_outbox(town, smtp=settings(port), now=clock())
    assert third.sent == 1 and third.ok
    assert server.recipients.count(refused_address) == 1
    assert send_outbox(town, smtp=settings(port), now=clock()).sent == 0
    assert len(server.messages) == 3


def test_a_run_killed_after_handing_a_mail_over_never_resends_it(town, smtp_server):
    (first, _, address), (second, _, _) = queue_decisions(town, 2)
    server, port = smtp_server()
    calls = iter(range(100))

    def dies_after_first_handover():
        if next(calls) == 2:  # the first mail's sent_at: the server has it, the process dies
            raise KeyboardInterrupt
        return NOW

    with pytest.raises(KeyboardInterrupt):
        send_outbox(town, smtp=settings(port), now=dies_after_first_handover)
    assert server.recipients == [address]
    mails = statuses(town)
    assert mails[first].status == MailStatus.SENDING and mails[second].status == MailStatus.TO_SEND

    # A run at once (the first could still be going on): the mail is left as it is.
    report = send_outbox(town, smtp=settings(port), now=clock())
    assert report.sent == 1 and not report.interrupted
    assert statuses(town)[first].status == MailStatus.SENDING
    # Minutes later it was surely interrupted: failed, for an agent to check; never resent.
    later = NOW + timedelta(minutes=10)
    report = send_outbox(town, smtp=settings(port), now=clock(later))
    assert report.sent == 0 and [f.mail_id for f in report.interrupted] == [first]
    assert server.recipients.count(address) == 1  # not resent
    mails = statuses(town)
    assert mails[first].status == MailStatus.FAILED and mails[first].error == INTERRUPTED
    assert send_outbox(town, smtp=settings(port), now=clock(later)).sent == 0  # still not resent
    assert server.recipients.count(address) == 1

    # The agent checked it had not left, and requeues it: the next run sends it.
    with Session(town, expire_on_commit=False) as session:
        requeue(session, mail_id=first, agent_id=admin_id(session))
        session.commit()
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.entity == "outbox_mail", AuditEntry.action == "update")
        ).one()
        assert entry.entity_id == first and entry.after == {"status": "to_send"}
        assert entry.before is not None
        assert entry.before["error"] == INTERRUPTED
    assert send_outbox(town, smtp=settings(port), now=clock(later)).sent == 1
    assert server.recipients.count(address) == 2


def test_an_unreachable_server_fails_the_run_and_leaves_the_mails_waiting(town):
    queued = queue_decisions(town, 2)
    with pytest.raises(RegieError, match="Impossible de joindre le serveur de courriel 127.0.0.1"):
        send_outbox(town, smtp=settings(free_port()), now=clock())
    mails = statuses(town)
    assert all(mails[i].status == MailStatus.TO_SEND and mails[i].attempts == 0 for i, _, _ in queued)


LOGINS: list[str] = []  # the logins the server accepted


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"regie", b"s3cret")
    if ok:
        LOGINS.append(auth_data.login.decode())
    return AuthResult(success=ok, handled=False)


def test_login_to_the_server(town, smtp_server):
    queue_decisions(town, 1)
    server, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    with pytest.raises(RegieError, match="refusé l'identifiant ou le mot de passe"):
        send_outbox(town, smtp=settings(port, user="regie", password="faux"), now=clock())
    LOGINS.clear()
    assert send_outbox(town, smtp=settings(port, user="regie", password="s3cret"), now=clock()).sent == 1
    assert len(server.messages) == 1 and LOGINS == ["regie"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl, on every machine that runs the suite:
    its absence fails the TLS tests rather than skipping them), as (cert file, key file)."""
    assert shutil.which("openssl"), "openssl makes the TLS tests' certificate: apt-get install openssl"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_with_login(town, smtp_server, certificate):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    queue_decisions(town, 1)
    server, port = smtp_server(tls_context=server_context, require_starttls=True, authenticator=authenticator)
    trusting = ssl.create_default_context(cafile=str(cert))
    smtp = settings(port, security="starttls", user="regie", password="s3cret", ssl_context=trusting)
    LOGINS.clear()
    assert send_outbox(town, smtp=smtp, now=clock()).sent == 1
    assert len(server.messages) == 1 and LOGINS == ["regie"]
    # Without trusting that certificate, the connection is refused and nothing is marked.
    queue_decisions(town, 1)
    with pytest.raises(RegieError, match="Connexion chiffrée impossible"):
        send_outbox(town, smtp=settings(port, security="starttls", user="regie", password="s3cret"), now=clock())


# ------------------------------------------------------------------------ screen, CLI


def test_outbox_page_newest_first_by_state_and_requeue_rules(town, smtp_server):
    queued = queue_decisions(town, 3)
    server, port = smtp_server(refuse={queued[0][2]})
    send_outbox(town, smtp=settings(port), now=clock())
    with Session(town, expire_on_commit=False) as session:
        decision_mail(session, family_id=queued[2][1].id, asked="Inscription", accepted=True, agent_id=None)
        session.commit()
        everything = outbox_page(session, status=None)
        assert [r.id for r in everything] == sorted((r.id for r in everything), reverse=True)
        assert len(everything) == 4
        assert [r.state for r in everything][0] == "À envoyer"
        failed = outbox_page(session, status=MailStatus.FAILED)
        assert [r.id for r in failed] == [queued[0][0]]
        assert failed[0].state.startswith("Échec : Adresse") and "550" in failed[0].state
        assert failed[0].family_name == queued[0][1].name
        sent = outbox_page(session, status=MailStatus.SENT)
        assert {r.id for r in sent} == {queued[1][0], queued[2][0]}
        assert sent[0].state.startswith("Envoyé le 23/11/2026 ")
        with pytest.raises(RegieError, match="déjà parti le 23/11/2026"):
            requeue(session, mail_id=sent[0].id, agent_id=admin_id(session))
        with pytest.raises(RegieError, match="attend déjà"):
            requeue(session, mail_id=everything[0].id, agent_id=admin_id(session))
        with pytest.raises(RegieError, match="introuvable"):
            requeue(session, mail_id=999_999, agent_id=admin_id(session))


def test_settings_from_the_environment_and_the_command_line():
    env = {"REGIE_SMTP_HOST": "smtp.ville.fr", "REGIE_SMTP_SENDER": "regie@ville.fr", "REGIE_SMTP_USER": "regie"}
    smtp = SmtpSettings.from_env(env)
    assert (smtp.host, smtp.port, smtp.security, smtp.user) == ("smtp.ville.fr", 587, "starttls", "regie")
    smtp = SmtpSettings.from_env(env | {"REGIE_SMTP_SECURITY": "tls"}, host="autre.fr")
    assert (smtp.host, smtp.port, smtp.security) == ("autre.fr", 465, "tls")
    assert SmtpSettings.from_env(env, port=2525, security="none").port == 2525
    with pytest.raises(RegieError, match="REGIE_SMTP_HOST"):
        SmtpSettings.from_env({"REGIE_SMTP_SENDER": "regie@ville.fr"})
    with pytest.raises(RegieError, match="REGIE_SMTP_SENDER"):
        SmtpSettings.from_env({"REGIE_SMTP_HOST": "smtp.ville.fr"})
    with pytest.raises(RegieError, match="Sécurité SMTP inconnue"):
        SmtpSettings.from_env(env, security="ssl3")
    with pytest.raises(RegieError, match="n'est pas un numéro de port"):
        SmtpSettings.from_env(env | {"REGIE_SMTP_PORT": "vingt-cinq"})
    with pytest.raises(RegieError, match="Adresse d'expédition invalide"):
        SmtpSettings.from_env(env, sender="regie")
