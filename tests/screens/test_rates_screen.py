"""Tarifs: the admin edits a cell of the grid with the keyboard; other roles read it only."""

from datetime import date

from sqlmodel import Session

from regie_tui.db import make_engine
from regie_tui.models import Role
from regie_tui.screens.rates import RateDialog, RatesScreen
from regie_tui.services.billing.rates import rate_on

from helpers import TODAY
from pilot import screen_text, settle


async def open_rates(pilot) -> RatesScreen:
    await settle(pilot)
    pilot.app.push_screen(RatesScreen(day=TODAY))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RatesScreen)
    return screen


def go_to(screen: RatesScreen, activity: str, unit: str, bracket: int) -> int:
    row, line = next(
        (i, r)
        for i, r in enumerate(screen.rows)
        if r is not None and (r.activity_name, r.unit_name) == (activity, unit)
    )
    screen.table.move_cursor(row=row, column=bracket + 1)
    return line.unit_id


def cell(url: str, unit_id: int, bracket_id: int, day: date):
    engine = make_engine(url)
    with Session(engine) as db:
        found = rate_on(db, unit_id=unit_id, bracket_id=bracket_id, day=day)
    engine.dispose()
    return found


async def test_admin_edits_a_rate_with_the_keyboard(make_fresh_app, fresh_town_url):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rates(pilot)
        text = screen_text(app)
        assert "Tarifs en vigueur le lundi 23 novembre 2026" in text
        assert "0-650" in text and "651-950" in text
        unit = go_to(screen, "Périscolaire Jules Ferry", "Acc matin", 0)
        await settle(pilot)
        status = screen_text(app)
        assert "Périscolaire Jules Ferry — Acc matin · 0-650 : 1,20 € depuis le 01/09/2026" in status
        assert "Majoration sans réservation 1,00 € · pénalité absence non justifiée 0,00 €" in status
        assert "Facturé jusqu'au 31/10/2026 · e : modifier" in status
        assert screen.grid is not None
        bracket_id = screen.grid.brackets[0].id

        # a date inside an invoiced month: refused by the service, the dialog comes back with the reason
        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RateDialog)
        await pilot.press(*"1,35")
        for _ in range(3):
            await pilot.press("tab")
        await pilot.press(*"15/10/2026", "enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RateDialog)
        assert "déjà facturé jusqu'au 31/10/2026" in screen_text(app)
        # the typed values are kept: only the date changes
        await pilot.press(*"01/12/2026", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert cell(fresh_town_url, unit, bracket_id, date(2026, 12, 1)).amount_cents == 135
        assert cell(fresh_town_url, unit, bracket_id, TODAY).amount_cents == 120
        text = screen_text(app)
        assert "Acc matin · 0-650 : 1,20 € depuis le 01/09/2026" in text
        assert "Changement le 01/12/2026 · facturé jusqu'au 31/10/2026" in text

        # the grid on that day shows the new price
        await pilot.press("d")
        await settle(pilot)
        await pilot.press(*"02/12/2026", "enter")
        await settle(pilot)
        go_to(screen, "Périscolaire Jules Ferry", "Acc matin", 0)
        await settle(pilot)
        assert "Acc matin · 0-650 : 1,35 € depuis le 01/12/2026" in screen_text(app)


async def test_bad_money_is_refused_in_the_dialog(make_fresh_app, fresh_town_url):
    app = make_fresh_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rates(pilot)
        unit = go_to(screen, "Périscolaire Jules Ferry", "Acc soir", 1)
        await pilot.press("enter")  # ⏎ edits too
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RateDialog)
        await pilot.press(*"2,405", "enter")
        await settle(pilot)
        assert "Tarif : « 2,405 » n'est pas un montant" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert screen.grid is not None
        assert cell(fresh_town_url, unit, screen.grid.brackets[1].id, TODAY).amount_cents == 240


async def test_accueil_reads_only(make_fresh_app):
    app = make_fresh_app(Role.ACCUEIL)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rates(pilot)
        assert "Lecture seule" in screen_text(app)
        go_to(screen, "Périscolaire Jules Ferry", "Acc matin", 0)
        await settle(pilot)
        assert "Facturé jusqu'au 31/10/2026 · lecture seule" in screen_text(app)
        await pilot.press("e")
        await settle(pilot)
        assert app.screen is screen
        assert any("Seul un administrateur" in str(n.message) for n in app._notifications)
