"""`regie mail send | list | retry`, against a real SMTP server on loopback."""

import json
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.clock import utc_now
from regie_tui.db import make_engine
from regie_tui.models import Family, MailStatus, OutboxMail
from regie_tui.services.common.sql import id_of
from regie_tui.services.portal.outbox import decision_mail, family_address
from regie_tui.services.portal.sending import INTERRUPTED

from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str, env=None):
    return runner.invoke(cli.app, list(args), env=env)


class Refusing:
    """Accepts every mail but those to ``refuse`` (550)."""

    def __init__(self, refuse):
        self.refuse = set(refuse)
        self.recipients = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def queued(fresh_town_url):
    """Three decision mails in a writable town: [(mail id, address)]."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        mails: list[tuple[int, str]] = []
        for family in session.exec(select(Family).order_by(col(Family.id))).all():
            address = family_address(session, family_id=id_of(family))
            if address and len(mails) < 3:
                mail_id = decision_mail(
                    session, family_id=id_of(family), asked="Inscription", accepted=True, agent_id=None
                )
                assert mail_id is not None
                mails.append((mail_id, address))
        session.commit()
    engine.dispose()
    return mails


@pytest.fixture
def server(queued):
    handler = Refusing({queued[1][1]})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def test_send_list_retry(fresh_town_url, queued, server):
    handler, port = server
    refused_id, refused_address = queued[1]
    smtp = ["--host", "127.0.0.1", "--port", str(port), "--security", "none"]
    env = {"REGIE_SMTP_SENDER": "regie.enfance@rivebelle.fr"}

    result = regie("mail", "send", *smtp, "--db", fresh_town_url, env=env)
    assert result.exit_code == 1, result.output
    assert "Envoyés : 2 · échecs : 1" in result.output
    assert f"Échec du courriel n° {refused_id} à {refused_address}" in result.output and "550" in result.output
    assert "Traceback" not in result.output
    assert sorted(handler.recipients) == sorted(a for i, a in queued if i != refused_id)

    listing = regie("mail", "list", "--status", "failed", "--json", "--db", fresh_town_url)
    assert listing.exit_code == 0, listing.output
    failed = json.loads(listing.output)
    assert [m["id"] for m in failed] == [refused_id]
    assert failed[0]["status"] == "failed" and failed[0]["state"].startswith("Échec : Adresse")
    table = regie("mail", "list", "--db", fresh_town_url)
    assert "3 courriel(s)." in table.output

    # The address works again: the failed mail goes on the next run, the others are not resent.
    handler.refuse.clear()
    again = regie("mail", "send", *smtp, "--db", fresh_town_url, env=env)
    assert again.exit_code == 0, again.output
    assert "Envoyés : 1 · échecs : 0" in again.output
    assert sorted(handler.recipients) == sorted(a for _, a in queued)

    # An interrupted mail is reported, not resent, until an agent requeues it.
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        mail = session.get(OutboxMail, queued[0][0])
        assert mail is not None
        mail.status = MailStatus.SENDING  # a run died while handing it over, an hour ago
        mail.last_attempt_at = utc_now() - timedelta(hours=1)  # the app's now (REGIE_TODAY)
        session.add(mail)
        session.commit()
    engine.dispose()
    stuck = regie("mail", "send", *smtp, "--db", fresh_town_url, env=env)
    assert stuck.exit_code == 1
    assert INTERRUPTED in stuck.output and f"regie mail retry {queued[0][0]}" in stuck.output
    retry = regie("mail", "retry", str(queued[0][0]), "--db", fresh_town_url)
    assert retry.exit_code == 0, retry.output
    assert f"Courriel n° {queued[0][0]} remis en attente" in retry.output
    assert "Envoyés : 1 · échecs : 0" in regie("mail", "send", *smtp, "--db", fresh_town_url, env=env).output
    assert handler.recipients.count(queued[0][1]) == 2

    refused_retry = regie("mail", "retry", str(queued[0][0]), "--db", fresh_town_url)
    assert refused_retry.exit_code == 1 and "déjà parti le" in refused_retry.output


def test_send_without_settings_or_server_says_so_in_french(fresh_town_url, queued):
    no_host = regie("mail", "send", "--db", fresh_town_url, env={"REGIE_SMTP_SENDER": "regie@ville.fr"})
    assert no_host.exit_code == 1 and "REGIE_SMTP_HOST" in no_host.output
    no_sender = regie("mail", "send", "--host", "127.0.0.1", "--db", fresh_town_url)
    assert no_sender.exit_code == 1 and "REGIE_SMTP_SENDER" in no_sender.output
    env = {"REGIE_SMTP_HOST": "127.0.0.1", "REGIE_SMTP_PORT": str(free_port()), "REGIE_SMTP_SECURITY": "none"}
    down = regie("mail", "send", "--sender", "regie@ville.fr", "--db", fresh_town_url, env=env)
    assert down.exit_code == 1 and "Impossible de joindre le serveur de courriel" in down.output
    assert "Traceback" not in down.output
    waiting = json.loads(regie("mail", "list", "--status", "to_send", "--json", "--db", fresh_town_url).output)
    assert len(waiting) == 3
    bad = regie("mail", "list", "--status", "parti", "--db", fresh_town_url)
    assert bad.exit_code == 1 and "État inconnu" in bad.output
