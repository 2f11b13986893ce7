"""Relances: the agent sees the overdue invoices by age, selects some, prints their letters."""

import io
from datetime import timedelta

from pypdf import PdfReader
from sqlmodel import Session, col, select
from textual.widgets import Input

from regie_tui.db import make_engine
from regie_tui.models import Invoice, Reminder, Role
from regie_tui.screens.dialogs import PickOne, TextPrompt
from regie_tui.screens.reminders import RemindersScreen

from pilot import screen_text, settle


def age_invoices(url: str, days: int) -> None:
    """Move every invoice ``days`` earlier: on 23/11/2026 September's are then 100 days past due, October's 68."""
    engine = make_engine(url)
    with Session(engine) as db:
        for invoice in db.exec(select(Invoice)):
            invoice.issue_date -= timedelta(days=days)
            invoice.due_date -= timedelta(days=days)
            invoice.period_start -= timedelta(days=days)
            invoice.period_end -= timedelta(days=days)
        db.commit()
    engine.dispose()


def recorded(url: str) -> list[tuple[str, int]]:
    engine = make_engine(url)
    with Session(engine) as db:
        rows = db.exec(
            select(Invoice.number, Reminder.level)
            .join(Invoice, col(Invoice.id) == Reminder.invoice_id)
            .order_by(Invoice.number)
        ).all()
    engine.dispose()
    return [(number, level) for number, level in rows]


async def open_reminders(pilot) -> RemindersScreen:
    await settle(pilot)
    pilot.app.push_screen(RemindersScreen())
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RemindersScreen)
    return screen


async def test_nothing_overdue_today(make_app):
    app = make_app(Role.REGISSEUR)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reminders(pilot)
        text = screen_text(app)
        assert "Factures impayées au 23/11/2026 — 0,00 €" in text
        assert "Aucune facture échue depuis 30 jours ou plus." in text
        await pilot.press("d")  # at a later date: September's invoices are overdue then
        await settle(pilot)
        for _ in range(10):
            await pilot.press("backspace")
        await pilot.press(*"15/01/2027", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Factures impayées au 15/01/2027" in text and "pop-F2609" in text
        await pilot.press("space", "i")  # letters go out today, not at a future date
        await settle(pilot)
        assert any("revenez à la date du jour" in str(n.message) for n in app._notifications)


async def test_select_and_print(make_fresh_app, fresh_town_url, tmp_path):
    age_invoices(fresh_town_url, 80)
    app = make_fresh_app(Role.REGISSEUR)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reminders(pilot)
        report = screen.report
        assert report is not None
        old = [i for i in report.invoices if i.age_days >= 90]
        middle = [i for i in report.invoices if 60 <= i.age_days < 90]
        assert old and middle
        text = screen_text(app)
        assert f"≥ 90 j : {len(old)}" in text and f"60-89 j : {len(middle)}" in text
        first = report.invoices[0]
        assert first.number in text and first.family_name[:11] in text

        # space selects the first (oldest) line; a selects the whole 60-89 days bucket
        await pilot.press("space")
        await settle(pilot)
        assert screen.selected == {first.number}
        assert f"1 choisie ({first.balance_cents // 100}," in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PickOne)
        await pilot.press("down", "enter")  # 60 à 89 jours
        await settle(pilot)
        assert screen.selected == {first.number} | {i.number for i in middle}
        assert f"{len(middle) + 1} choisies" in screen_text(app)

        # i asks where to write the PDF, then records the reminders
        target = tmp_path / "relances.pdf"
        await pilot.press("i")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        prompt.query_one("#prompt-input", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert any("lettres de relance écrites" in str(n.message) for n in app._notifications)
        pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(target.read_bytes())).pages]
        assert len(pages) == len(middle) + 1
        assert "Relance n° 3" in pages[0] and first.number in pages[0]
        assert all("Relance n° 2" in page for page in pages[1:])
        expected = sorted([(first.number, 3), *((i.number, 2) for i in middle)])
        assert recorded(fresh_town_url) == expected

        # the list is read again: the selection is cleared, the letters sent are shown
        assert screen.selected == set()
        assert screen.report is not None
        sent = next(i for i in screen.report.invoices if i.number == first.number)
        assert (sent.last_level, sent.to_send) == (3, False)
        assert "3✓" in screen_text(app)

        # printing again what is already sent: nothing is recorded twice
        await pilot.press("home", "space", "i")
        await settle(pilot)
        app.screen.query_one("#prompt-input", Input).value = str(tmp_path / "encore.pdf")
        await pilot.press("enter")
        await settle(pilot)
        assert any("déjà envoyées" in str(n.message) for n in app._notifications)
        assert not (tmp_path / "encore.pdf").exists()
        assert recorded(fresh_town_url) == expected
