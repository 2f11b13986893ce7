"""Planning: the agent moves, selects, books every Wednesday until the holidays, saves, reads back."""

from datetime import date

from sqlmodel import Session, select
from textual.content import Content
from textual.widgets import Static

from regie_tui.app import create_app
from regie_tui.models import AuditEntry, Booking, BookingState, Child, Source
from regie_tui.screens.dialogs import ConfirmScreen, TextPrompt
from regie_tui.screens.planning.dialogs import LegendScreen
from regie_tui.screens.planning.screen import PlanningScreen
from regie_tui.services.bookings.cells import CellRequest
from regie_tui.services.bookings.rules import apply_cells
from regie_tui.services.trust.agents import resolve_agent

from booking_world import NOW, build
from helpers import TODAY, get_row
from pilot import screen_text, settle

MONDAY = date(2026, 11, 30)


async def open_planning(pilot, child_id: int, day: date = MONDAY) -> PlanningScreen:
    await settle(pilot)
    pilot.app.push_screen(PlanningScreen(child_id, day))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PlanningScreen)
    return screen


def world_app(engine):
    world = build(engine)
    with Session(engine) as session:
        agent = resolve_agent(session, "jpetit")
    return world, create_app(engine=engine, agent=agent, today=TODAY)


def bookings(engine, child_id: int) -> dict[tuple[date, int], BookingState]:
    with Session(engine) as db:
        return {(b.day, b.unit_id): b.state for b in db.exec(select(Booking).where(Booking.child_id == child_id))}


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def status(screen: PlanningScreen) -> str:
    return screen.message


async def test_select_book_repeat_until_holidays_and_save(engine):
    world, app = world_app(engine)
    lea = world.kids["Léa"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, lea)
        grid = screen.grid_widget
        text = screen_text(app)
        assert "Léa" in text and "semaine du 30/11 au 06/12/2026" in text
        assert "Mercredi" in text and "Matin 07:30-11:45" in text and "lun" in text
        assert screen.grid is not None
        assert [r.unit_name for r in screen.grid.rows] == [
            "Acc soir",
            "Matin",
            "Repas",
            "Après-midi",
            "Journée",
            "Atelier",
        ]
        # move: two days right (Wednesday 2), one unit down (Matin)
        await press(pilot, "right", "right", "down")
        assert (grid.cursor_day, grid.cursor_unit) == (date(2026, 12, 2), world.matin)
        assert "Matin" in status(screen) and "Libre" in status(screen)
        # select Matin and Repas, book both at once
        await press(pilot, "shift+down", "space")
        assert grid.selected() == [(date(2026, 12, 2), world.matin), (date(2026, 12, 2), world.repas)]
        assert "° 2 à enregistrer" in screen_text(app)
        assert "●°" in screen_text(app)  # pending cells show their target and a mark, colour aside
        # repeat the week's pattern of the selected rows every week until the holidays
        await pilot.press("r")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        assert prompt.value == "22/12/2026"  # the eve of the Christmas holidays (23/12)
        await press(pilot, "enter")
        assert "° 6 à enregistrer" in screen_text(app)
        assert bookings(engine, lea) == {}
        await press(pilot, "ctrl+s")
        assert status(screen) == "6 cellules enregistrées"
        wednesdays = [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16)]
        assert bookings(engine, lea) == {
            (day, unit): BookingState.RESERVED for day in wednesdays for unit in (world.matin, world.repas)
        }
        count = screen.query_one("#planning-count", Static).render()
        assert isinstance(count, Content) and "modification" not in count.plain
        assert grid.cursor_cell is not None
        assert grid.cursor_cell.state == BookingState.RESERVED  # read back into the grid


async def test_refused_key_press_shows_the_rule_and_changes_nothing(engine):
    world, app = world_app(engine)
    lea = world.kids["Léa"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, lea)
        await press(pilot, "right", "right", "down", "down")  # Wednesday 2, Repas
        assert screen.grid_widget.cursor_unit == world.repas
        await press(pilot, "space")
        assert "Repas sans Matin ni Après-midi le mercredi" in status(screen)
        assert screen.unsaved.requests == {}
        assert "à enregistrer" not in screen_text(app)
        # a closed day: the Christmas holidays close the Wednesdays
        await press(pilot, "g")
        await press(pilot, *["backspace"] * 10, *"23/12/2026", "enter")
        assert screen.grid_widget.cursor_day == date(2026, 12, 23)
        await press(pilot, "up", "space")
        assert "Vacances scolaires" in status(screen)
        assert screen.unsaved.requests == {}
        await press(pilot, "ctrl+s")
        assert bookings(engine, lea) == {}


async def test_stale_save_shows_the_clash_and_keeps_the_edits(engine):
    world, app = world_app(engine)
    lea = world.kids["Léa"]
    wednesday = date(2026, 12, 9)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, lea, date(2026, 12, 7))
        await press(pilot, "right", "right", "down")  # Wednesday 9, Matin
        await press(pilot, "shift+down", "space")  # Matin and Repas
        assert len(screen.unsaved.requests) == 2
        # meanwhile the portal's accepted request books Matin
        with Session(engine) as db:
            apply_cells(
                db,
                child_id=lea,
                cells=[CellRequest(wednesday, world.matin, "book")],
                agent_id=None,
                source=Source.PORTAL,
                now=NOW,
            )
            db.commit()
        await press(pilot, "ctrl+s")
        message = status(screen)
        assert "Planning modifié depuis son ouverture" in message
        assert "09/12/2026 Matin – Mercredi : réservée (portail famille" in message
        assert len(screen.unsaved.requests) == 2  # nothing lost
        assert bookings(engine, lea) == {(wednesday, world.matin): BookingState.RESERVED}
        # re-applied on the fresh state: saved this time
        await press(pilot, "ctrl+s")
        assert "enregistrée" in status(screen)
        assert bookings(engine, lea) == {
            (wednesday, world.matin): BookingState.RESERVED,
            (wednesday, world.repas): BookingState.RESERVED,
        }


async def test_undo_redo_legend_and_leaving_asks(engine):
    world, app = world_app(engine)
    lea = world.kids["Léa"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, lea)
        await press(pilot, "right", "right", "down", "space")
        assert len(screen.unsaved.requests) == 1
        await press(pilot, "ctrl+z")
        assert screen.unsaved.requests == {}
        await press(pilot, "ctrl+y")
        assert len(screen.unsaved.requests) == 1
        await press(pilot, "space")  # freeing the pending booking: back to what is stored
        assert screen.unsaved.requests == {}
        await press(pilot, "space", "l")
        legend = app.screen
        assert isinstance(legend, LegendScreen)
        assert "Réservation en liste d'attente" in screen_text(app)
        await press(pilot, "escape", "escape")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        await press(pilot, "n")
        assert app.screen is screen
        await press(pilot, "escape", "o")
        assert not isinstance(app.screen, PlanningScreen)
        assert bookings(engine, lea) == {}


async def test_views_cycle_and_periods_move(engine):
    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, world.kids["Léa"])
        await press(pilot, "v")
        assert "· décembre 2026" in screen_text(app) or "· novembre 2026" in screen_text(app)
        assert screen.grid is not None
        assert len(screen.grid.days) in (30, 31)
        await press(pilot, "pagedown")
        assert screen.grid is not None
        assert screen.grid.first.day == 1
        await press(pilot, "t")
        assert screen.grid is not None
        assert screen.grid.first == date(2026, 11, 1)
        await press(pilot, "v")
        assert screen.grid is not None
        assert screen.grid.days == (TODAY,)
        await press(pilot, "v")
        assert screen.grid is not None
        assert len(screen.grid.days) == 7


async def test_f4_finds_a_child_and_opens_the_planning(engine):
    """F4: typed words of the family file → its children listed → Enter opens the planning."""
    from regie_tui.screens.planning.screen import PlanningScreen

    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f4")
        await press(pilot, *"famille lé")
        await settle(pilot)
        assert "Léa — né(e) le 10/05/2021 — famille FAMILLE LÉA" in screen_text(app)
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, PlanningScreen)
        assert app.screen.child_id == world.kids["Léa"]


async def test_enter_on_a_child_of_the_family_file_opens_the_planning(engine):
    world, app = world_app(engine)
    with Session(engine) as db:
        family_id = get_row(db, Child, world.kids["Tom"]).family_id
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_family(family_id)
        await settle(pilot)
        await press(pilot, "2")
        app.screen.query_one("#children").focus()
        await press(pilot, "enter")
        assert isinstance(app.screen, PlanningScreen)
        assert app.screen.child_id == world.kids["Tom"]
        assert "Tom" in screen_text(app)


async def test_quitting_from_another_place_asks_when_a_planning_is_unsaved(engine):
    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, world.kids["Léa"])
        await press(pilot, "right", "right", "down", "space")
        assert len(screen.unsaved.requests) == 1
        await press(pilot, "f2", "ctrl+q")  # Familles, then quit: the planning waits in the other place
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one("#confirm-question").render())
        assert "Modifications non enregistrées (planning de Léa Famille Léa)" in question
        await press(pilot, "n")
        assert app.is_running
        await press(pilot, "ctrl+q", "o")
        assert not app.is_running


async def test_going_back_to_a_place_asks_before_closing_an_unsaved_planning(engine):
    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, world.kids["Léa"])  # opened from the tableau de bord
        await press(pilot, "right", "right", "down", "space")
        await press(pilot, "f2", "escape")  # Familles, then back to the tableau de bord
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        await press(pilot, "n")
        assert app.screen is screen and len(screen.unsaved.requests) == 1
        await press(pilot, "f2", "escape", "o")
        assert not isinstance(app.screen, PlanningScreen)
        assert screen not in app.screen_stack


async def test_a_range_over_a_closed_day_books_then_frees_the_open_days(engine):
    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, world.kids["Léa"])
        assert screen.grid_widget.cursor_unit == world.acc_soir  # périscolaire: closed on Wednesdays
        await press(pilot, *["shift+right"] * 4, "space")  # Monday to Friday
        pending = sorted(day for day, _ in screen.unsaved.requests)
        assert pending == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)]
        await press(pilot, "space")
        assert screen.unsaved.requests == {}


async def test_keys_typed_ahead_across_weeks_are_all_counted(engine):
    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, world.kids["Léa"])  # Monday 30/11
        for _ in range(20):  # typed ahead: all before the next week has loaded
            screen.grid_widget.action_move(0, 1)
        await settle(pilot)
        assert screen.grid_widget.cursor_day == date(2026, 12, 20)


async def test_edit_keys_typed_ahead_all_count(engine):
    world, app = world_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, world.kids["Léa"])  # Monday 30/11, Acc soir
        grid = screen.grid_widget
        screen.action_book_or_free()  # Monday, then Tuesday before Monday's check is back
        grid.action_move(0, 1)
        screen.action_book_or_free()
        screen.action_save()
        await settle(pilot)
        assert bookings(engine, world.kids["Léa"]) == {
            (date(2026, 11, 30), world.acc_soir): BookingState.RESERVED,
            (date(2026, 12, 1), world.acc_soir): BookingState.RESERVED,
        }


async def test_a_passed_notice_is_overridden_after_a_confirmation_and_a_reason(engine):
    world, app = world_app(engine)
    lea = world.kids["Léa"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_planning(pilot, lea, TODAY)  # Monday 23/11, Acc soir: notice passed the day before
        await press(pilot, "space")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "o")
        assert isinstance(app.screen, TextPrompt)
        await press(pilot, *"Accord de la directrice", "enter")
        assert len(screen.unsaved.requests) == 1
        await press(pilot, "ctrl+s")
    assert bookings(engine, lea) == {(TODAY, world.acc_soir): BookingState.RESERVED}
    with Session(engine) as db:
        entry = db.exec(select(AuditEntry).where(AuditEntry.entity == "booking")).one()
    assert entry.after is not None
    assert entry.after["reason"] == "Accord de la directrice"
