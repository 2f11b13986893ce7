"""Boîte d'envoi: the agent filters the mails by state, reads one, and resends a failed one."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from regie_tui.app import create_app
from regie_tui.db import make_engine
from regie_tui.models import Family, MailStatus, OutboxMail
from regie_tui.screens.outbox import MailScreen, OutboxScreen
from regie_tui.services.common.sql import id_of
from regie_tui.services.portal.outbox import decision_mail, family_address
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY, get_row
from pilot import screen_text, settle

SENT_AT = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)  # 14:05 in Paris


def notices(app):
    return [notification.message for notification in app._notifications]


@pytest.fixture
def outbox_town(fresh_town_url):
    """A writable town with three mails: sent, failed, to send (newest); and the app on it."""
    engine = make_engine(fresh_town_url)
    with Session(engine, expire_on_commit=False) as session:
        agent = resolve_agent(session, ADMIN_LOGIN)
        chosen = [
            f
            for f in session.exec(select(Family).order_by(col(Family.id))).all()
            if family_address(session, family_id=id_of(f))
        ][:3]
        mails = []
        for family, accepted in zip(chosen, (True, False, True), strict=True):
            mail_id = decision_mail(
                session,
                family_id=id_of(family),
                asked=f"Modification : adresse de la famille {family.name}",
                accepted=accepted,
                reason="" if accepted else "Justificatif de domicile manquant.",
                agent_id=agent.id,
            )
            mails.append(get_row(session, OutboxMail, mail_id))
        sent, failed, _ = mails
        sent.status, sent.sent_at, sent.attempts = MailStatus.SENT, SENT_AT, 1
        failed.status, failed.attempts = MailStatus.FAILED, 1
        failed.error = "Adresse refusée par le serveur : 550 5.1.1 Boîte inconnue"
        session.add_all([sent, failed])
        session.commit()
    app = create_app(engine=engine, agent=agent, today=TODAY)
    yield app, mails, chosen
    engine.dispose()


async def test_filters_read_and_resend(outbox_town):
    app, (sent, failed, waiting), families = outbox_town
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(OutboxScreen())
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OutboxScreen)
        assert [r.id for r in screen.rows] == [waiting.id, failed.id, sent.id]  # newest first
        text = screen_text(app)
        assert all(header in text for header in ("Date", "État", "Famille", "Objet"))
        assert "À envoyer" in text and "Échec : Adresse" in text
        assert "3 — tous les courriels" in text

        await pilot.press("e")
        await settle(pilot)
        assert [r.id for r in screen.rows] == [sent.id]
        assert "Envoyé le 23/11/26 14:05" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert [r.id for r in screen.rows] == [waiting.id]
        await pilot.press("x")
        await settle(pilot)
        assert [r.id for r in screen.rows] == [failed.id]
        assert "1 — courriels en échec" in screen_text(app)

        # Enter: the mail as the family reads it.
        await pilot.press("enter")
        await settle(pilot)
        mail_screen = app.screen
        assert isinstance(mail_screen, MailScreen)
        text = screen_text(app)
        assert f"Bonjour Famille {families[1].name}," in text
        assert "Objet : Votre demande a été refusée" in text
        assert "Motif : Justificatif de domicile manquant." in text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen

        # r: back to "à envoyer" (it leaves the list of failures); in the database too.
        await pilot.press("r")
        await settle(pilot)
        assert screen.rows == []
        assert "remis en attente" in notices(app)[-1]
        with Session(app.engine) as session:
            assert get_row(session, OutboxMail, failed.id).status == MailStatus.TO_SEND
        await pilot.press("t")
        await settle(pilot)
        assert [(r.id, r.state) for r in screen.rows][:2] == [(waiting.id, "À envoyer"), (failed.id, "À envoyer")]

        # A mail not in failure cannot be resent; escape leaves the screen.
        line = screen.current()
        assert line is not None and line.id == waiting.id
        await pilot.press("r")
        await settle(pilot)
        assert "Seul un courriel en échec" in notices(app)[-1]
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, OutboxScreen)
