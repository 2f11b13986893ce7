"""Facturation: the agent previews November's run, sees the anomalies, issues it and opens an invoice."""

import pytest
from sqlmodel import Session, col, func, select

from regie_tui.db import make_engine
from regie_tui.models import Invoice
from regie_tui.screens.billing import BillingScreen
from regie_tui.screens.dialogs import ConfirmScreen
from regie_tui.screens.invoice_view import InvoiceScreen

from helpers import TODAY
from pilot import screen_text, settle


async def test_preview_then_issue_then_open_an_invoice(make_fresh_app, fresh_town_url):
    app = make_fresh_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, BillingScreen)
        text = screen_text(app)
        assert "Régie périscolaire, restauration et mercredis (pop) — novembre 2026" in text
        await pilot.press("e")  # no preview yet: nothing to issue
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)

        await pilot.press("a")
        await settle(pilot)
        text = screen_text(app)
        assert "aperçu, rien n'est émis" in text
        assert "Mois en cours : jours facturés jusqu'au 23/11/2026." in text
        assert "Anomalies — " in text or "Aucune anomalie." in text
        preview_line = next(line for line in text.splitlines() if "facture(s)," in line)
        await pilot.press("l")
        await settle(pilot)
        assert "Présence sans réservation" in screen_text(app)  # the seeded town's walk-in, listed
        await pilot.press("escape")
        await settle(pilot)
        engine = make_engine(fresh_town_url)
        with Session(engine) as db:
            assert db.exec(select(func.count()).select_from(Invoice).where(Invoice.issue_date == TODAY)).one() == 0

        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("o")
        await settle(pilot)
        text = screen_text(app)
        assert "émises, n° pop-F261100001 à pop-F2611" in text
        assert preview_line.split(" — ")[0] in text  # the same count and total as the preview
        with Session(engine) as db:
            issued = db.exec(select(func.count()).select_from(Invoice).where(Invoice.issue_date == TODAY)).one()
        assert f"{issued} facture(s)" in text
        engine.dispose()

        await pilot.press("enter")  # the first family's invoice
        await settle(pilot)
        assert isinstance(app.screen, InvoiceScreen)
        assert "Facture n° pop-F261100001" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("a")  # a second preview: everything is billed now
        await settle(pilot)
        assert "Rien à facturer : aucune prestation non facturée." in screen_text(app)


async def test_another_month_and_service(make_fresh_app):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(BillingScreen())
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        for _ in range(7):
            await pilot.press("backspace")
        await pilot.press(*"2026-13", "enter")
        await settle(pilot)
        assert "Mois invalide" in screen_text(app) or "novembre 2026" in screen_text(app)
        await pilot.press("m")
        await settle(pilot)
        for _ in range(7):
            await pilot.press("backspace")
        await pilot.press(*"2026-10", "enter")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Régie de l'accueil de loisirs (alsh) — octobre 2026" in text
        await pilot.press("a")
        await settle(pilot)
        assert "Rien à facturer : aucune prestation non facturée." in screen_text(app)  # the seed billed October


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_snapshot_preview(snap_compare, make_fresh_app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.push_screen(BillingScreen())
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)

    assert snap_compare(make_fresh_app(), terminal_size=(80, 24), run_before=run_before)


async def test_a_credit_note_from_the_invoice_screen(make_fresh_app, fresh_town_url):
    from regie_tui.models import CreditNote, CreditNoteLine, InvoiceLine
    from regie_tui.screens.credit_note import CreditNoteDialog

    engine = make_engine(fresh_town_url)
    with Session(engine) as db:  # an invoice of several lines, not paid yet
        number = db.exec(
            select(Invoice.number)
            .join(InvoiceLine, col(InvoiceLine.invoice_id) == Invoice.id)
            .where(col(Invoice.number).like("pop-F2610%"))
            .group_by(col(Invoice.number))
            .having(func.count() > 2)
            .order_by(col(Invoice.number))
        ).first()
        assert number is not None
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(InvoiceScreen(number))
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, CreditNoteDialog)
        await pilot.press("ctrl+s")  # no reason yet: refused, in the dialog
        await settle(pilot)
        assert "motif obligatoire" in screen_text(app)
        await pilot.press(*"Erreur de pointage", "tab", "tab")
        await pilot.press("down", "space")  # the first line is given back
        assert "1. " in screen_text(app) and "17.00" not in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceScreen)
        assert f"Facture n° {number}  Annulée" not in screen_text(app)
    with Session(engine) as db:
        note = db.exec(select(CreditNote)).all()[-1]
        given = db.exec(select(CreditNoteLine).where(CreditNoteLine.credit_note_id == note.id)).one()
        line = db.get(InvoiceLine, given.invoice_line_id)
        assert line is not None
        assert note.reason == "Erreur de pointage" and note.amount_cents == line.amount_cents and line.position == 1
    engine.dispose()
