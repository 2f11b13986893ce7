"""Health data on screen, by role: a family's health request in the bannette, the roster."""

import json

import pytest
from sqlmodel import Session, col, select

from regie_tui.clock import utc_now
from regie_tui.models import Child, HealthNote, PortalAccount, Role, Submission, SubmissionStatus
from regie_tui.services.common.sql import id_col
from regie_tui.services.portal.intake.run import import_submissions

from helpers import get_row
from pilot import screen_text, settle

ASKED = "Allergie sévère aux arachides : stylo adrénaline dans le sac"


def _health_request(engine) -> int:
    """A portal request changing a health note's text, the oldest item of the bannette."""
    with Session(engine) as session:
        row = session.exec(
            select(HealthNote.id, HealthNote.text, Child.family_id)
            .join(Child, col(Child.id) == HealthNote.child_id)
            .join(PortalAccount, col(PortalAccount.family_id) == Child.family_id)
            .order_by(col(HealthNote.id))
        ).first()
        assert row is not None
        note_id, text, family_id = row
        account = session.exec(select(PortalAccount.email).where(PortalAccount.family_id == family_id)).one()
        line = {
            "id": "t-health",
            "kind": "change",
            "family": family_id,
            "account": account,
            "submitted_at": "2026-09-01T08:00:00+02:00",
            "entity": "health_note",
            "entity_id": note_id,
            "field": "text",
            "old": text,
            "new": ASKED,
        }
        summary = import_submissions(
            session, data=json.dumps(line).encode(), filename="t.jsonl", agent=None, now=utc_now()
        )
        session.commit()
        assert summary.stored == 1, summary.rejected
        return session.exec(select(id_col(Submission.id)).where(Submission.portal_id == "t-health")).one()


@pytest.mark.parametrize(("role", "sees"), [(Role.ACCUEIL, True), (Role.REGISSEUR, False), (Role.ADMIN, True)])
async def test_a_health_request_is_read_and_decided_only_by_the_roles_allowed(make_fresh_app, role, sees):
    app = make_fresh_app(role)
    item = _health_request(app.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert app.screen.detail is not None and app.screen.detail.id == item
        text = " ".join(screen_text(app).split())
        assert ("stylo adrénaline" in text) is sees, text
        assert ("accès réservé" in text) is not sees
        await pilot.press("a")
        await settle(pilot)
        told = [str(n.message) for n in app._notifications]
        assert any("réservé aux rôles accueil, administrateur" in m for m in told) is not sees, told
    with Session(app.engine) as session:
        status = get_row(session, Submission, item).status
    assert status == (SubmissionStatus.ACCEPTED if sees else SubmissionStatus.PENDING)
