"""`regie` paints the dashboard first, then opens the database in a worker."""

from regie_tui.app import create_app
from regie_tui.screens.dashboard import DashboardScreen
from regie_tui.widgets.counter import Counter

from helpers import ADMIN_LOGIN, TODAY, act_as
from pilot import screen_text, settle, workers_done


async def test_the_database_opens_behind_the_first_screen(town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    app = create_app(database_url=town_url, today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await settle(pilot)  # connected, then counted
        await workers_done(app)
        await pilot.pause()
        assert app.connected
        text = screen_text(app)
        assert "Agent :" in text and "Administrateur" in text
        assert app.screen.query_one("#pending-changes", Counter).value != "…"
        assert app.engine is not None
        app.engine.dispose()


async def test_a_database_that_cannot_be_opened_closes_the_app_with_a_french_message(tmp_path):
    missing = tmp_path / "absente.db"
    app = create_app(database_url=f"sqlite:///{missing}", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await workers_done(app)
        await pilot.pause()
    assert app.return_code == 1
    assert app.startup_error is not None
    assert "n'existe pas" in app.startup_error and "regie db upgrade" in app.startup_error
    assert not missing.exists()


async def test_an_unknown_login_is_refused_at_start(town_url, monkeypatch):
    act_as(monkeypatch, "inconnu")
    app = create_app(database_url=town_url, today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await workers_done(app)
        await pilot.pause()
    assert app.return_code == 1
    assert app.startup_error is not None
    assert "« inconnu » n'est pas un agent de la régie" in app.startup_error
