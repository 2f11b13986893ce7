"""Encaissements: record a payment with the keyboard, see it in the day's journal; close the day; snapshot."""

import pytest
from sqlmodel import Session, col, select
from textual.widgets import Input

from regie_tui.db import make_engine
from regie_tui.models import CashDay, Family, Payment, PaymentMode, Role
from regie_tui.screens.payments.journal import PaymentsScreen
from regie_tui.screens.payments.payment_dialog import PaymentDialog
from regie_tui.screens.payments.situation import FinancialSituationScreen
from regie_tui.services.common.sql import id_col

from helpers import TODAY
from pilot import screen_text, settle


async def open_journal(pilot) -> PaymentsScreen:
    await settle(pilot)
    pilot.app.push_screen(PaymentsScreen(day=TODAY))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PaymentsScreen)
    return screen


def read(url: str, statement):
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            return db.exec(statement).all()
    finally:
        engine.dispose()


async def test_record_a_cash_payment_with_the_keyboard_and_see_it_in_the_journal(make_fresh_app, fresh_town_url):
    family_name = read(fresh_town_url, select(Family.name).where(Family.id == 1))[0]
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_journal(pilot)
        assert "Journal de caisse du lundi 23 novembre 2026" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*family_name.lower(), "enter")
        await settle(pilot)
        if not isinstance(app.screen, PaymentDialog):  # several families found: the first is it
            await pilot.press("enter")
            await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PaymentDialog)
        text = screen_text(app)
        assert f"Nouveau règlement — {family_name}" in text and "crédit de la famille" in text
        amount = dialog.query_one("#pay-amount", Input)
        assert amount.has_focus
        amount.value = ""
        await pilot.press(*"42,50")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PaymentsScreen)
        rows = read(
            fresh_town_url,
            select(
                col(Payment.receipt_number), col(Payment.mode), col(Payment.amount_cents), col(Payment.received_on)
            ).where(Payment.family_id == 1, Payment.received_on == TODAY),
        )
        assert [(mode, cents, day) for _, mode, cents, day in rows] == [(PaymentMode.CASH, 4250, TODAY)]
        receipt = rows[0][0]
        # the journal shows it, the cursor on it, and counts it in the day's totals per mode
        line = screen.current()
        assert line is not None and line.receipt_number == receipt
        row = [str(cell) for cell in screen.table.get_row(receipt)]
        assert row[0] == receipt and row[2] == "Espèces" and row[3] == "42,50\xa0€"
        assert "Espèces 1 : 42,50 €" in screen_text(app)


async def test_cash_over_300_is_refused_in_the_dialog(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(PaymentDialog(1))
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#pay-amount").value = "300,01"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "espèces est limité à 300,00 €" in screen_text(app)
        assert read(fresh_town_url, select(id_col(Payment.id)).where(Payment.received_on == TODAY)) == []


async def test_the_regisseur_closes_the_day(make_fresh_app, fresh_town_url):
    app = make_fresh_app(Role.REGISSEUR)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_journal(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("enter")  # the first régie
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert len(read(fresh_town_url, select(id_col(CashDay.id)).where(CashDay.day == TODAY))) == 1
        assert "close" in screen_text(app)


async def test_financial_situation_of_a_family(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(FinancialSituationScreen(1))
        await settle(pilot)
        text = screen_text(app)
        assert "au 23/11/2026" in text and "reste dû" in text
        assert "pop-F2610" in text
        await pilot.press("d")  # before October's invoices were issued
        await settle(pilot)
        for _ in range(10):
            await pilot.press("backspace")
        await pilot.press(*"01/11/2026", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "au 01/11/2026" in text and "pop-F2610" not in text


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_snapshot_journal_80x24(snap_compare, make_app):
    async def journal(pilot):
        await settle(pilot)
        pilot.app.push_screen(PaymentsScreen(day=TODAY.replace(day=22)))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=journal)


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_snapshot_payment_dialog_80x24(snap_compare, make_app):
    async def dialog(pilot):
        await settle(pilot)
        pilot.app.push_screen(PaymentDialog(1))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=dialog)
