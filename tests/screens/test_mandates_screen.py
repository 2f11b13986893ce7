"""Mandats SEPA of a family: the agent records a signed mandate with the keyboard, then revokes it."""

from datetime import date

import pytest
from sqlmodel import Session, col, select

from regie_tui.app import create_app
from regie_tui.models import Mandate, MandateSequence, Regie
from regie_tui.screens.family.form import FamilyForm
from regie_tui.screens.mandates import MandatesScreen
from regie_tui.services.trust.agents import resolve_agent

from builders import add_family, add_regie
from helpers import TODAY, get_row
from pilot import screen_text, settle, shows


@pytest.fixture
def desk(engine):
    """The app on a régie 'pop' (with its ICS) and the family NOEL, whose payer is Hélène Noël."""
    with Session(engine, expire_on_commit=False) as db:
        agent = resolve_agent(db, "jbernard")
        regie_id = add_regie(db, "pop")
        get_row(db, Regie, regie_id).sepa_creditor_id = "FR72ZZZ123456"
        family_id = add_family(db, "NOEL", guardians=[("Hélène", "Noël", "0612345678", "helene@example.fr")])
        db.commit()
    return create_app(engine=engine, agent=agent, today=TODAY), family_id


async def type_text(pilot, text: str) -> None:
    for character in text:
        await pilot.press("space" if character == " " else character)


async def test_add_a_mandate_with_keys_then_revoke_it(engine, desk):
    app, family_id = desk
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(MandatesScreen(family_id))
        await settle(pilot)
        assert "Aucun mandat de prélèvement · n : enregistrer un mandat signé" in screen_text(app)

        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FamilyForm)
        # Régie (the only one, chosen), titulaire and address (the payer's), then the IBAN.
        await pilot.press("tab", "tab", "tab")
        await type_text(pilot, "FR76 3000 6000 0112 3456 7890 180")
        await pilot.pause()
        assert await shows(pilot, "IBAN invalide : « FR76 3000 6000 0112 3456 7890")  # (wrapped)
        await pilot.press("backspace")
        await type_text(pilot, "9")
        await pilot.press("tab")
        await type_text(pilot, "AGRIFRPP84")
        await pilot.pause()
        assert await shows(pilot, "BIC invalide : « AGRIFRPP84 » (8 ou 11")  # (wrapped)
        await type_text(pilot, "7")
        await pilot.press("tab", *["backspace"] * 10)
        await type_text(pilot, "01/11/2026")
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert isinstance(app.screen, MandatesScreen)
        text = screen_text(app)
        rum = f"POP-{family_id:07d}-1"
        assert rum in text and "FR76…0189" in text and "AGRIFRPP847" in text and "FRST" in text
        assert "01/11/26" in text and "01/11/29" in text  # signed, lapses 36 months later unused
        assert "Hélène Noël, 1 rue de la Gare, 88800" in text
        assert "Actif — prochain prélèvement FRST, dernier : jamais, caduc le 01/11/2029" in text
        assert "1 mandat(s), 1 actif(s)" in text
        with Session(engine) as db:
            mandate = db.exec(select(Mandate)).one()
        assert (mandate.rum, mandate.iban, mandate.bic, mandate.signed_on) == (
            rum,
            "FR7630006000011234567890189",
            "AGRIFRPP847",
            date(2026, 11, 1),
        )
        assert mandate.recurrent and mandate.next_sequence == MandateSequence.FIRST

        await pilot.press("r")
        await settle(pilot)
        await type_text(pilot, "Courrier de la famille")
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Révoqué le 23/11/2026 — prochain prélèvement FRST" in text and "0 actif(s)" in text
        with Session(engine) as db:
            assert db.exec(select(col(Mandate.revoked_on))).one() == TODAY


async def test_a_mandate_outside_the_sepa_zone_is_refused_in_the_form(engine, desk):
    app, family_id = desk
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(MandatesScreen(family_id))
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("tab", "tab", "tab")
        await type_text(pilot, "BR1800360305000010009795493C1")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FamilyForm)
        assert "IBAN hors de la zone SEPA" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        with Session(engine) as db:
            assert db.exec(select(Mandate)).all() == []
