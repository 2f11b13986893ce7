"""Pilot tests: an agent at the keyboard, checking what the screen shows."""

from sqlmodel import Session, col, select
from textual.widgets import Input, TabbedContent

from regie_tui.db import make_engine
from regie_tui.labels import HEALTH_KIND
from regie_tui.models import Child, Family, HealthNote, Invoice, Role
from regie_tui.screens.base import Desk
from regie_tui.screens.dashboard import DashboardScreen
from regie_tui.screens.families import FamiliesScreen
from regie_tui.screens.family.screen import FamilyScreen
from regie_tui.screens.help import HelpScreen
from regie_tui.services.families.search_words import fold
from regie_tui.services.portal.dashboard import dashboard_counts
from regie_tui.widgets.counter import Counter

from pilot import screen_text, settle, shows, until


def town_facts(url):
    """The dashboard's counts, the families in name order (those with invoices flagged), and
    a child with a health note, with the note."""
    engine = make_engine(url)
    with Session(engine) as session:
        counts = dashboard_counts(session)
        families = session.exec(select(Family).order_by(col(Family.name_key), col(Family.id))).all()
        billed = set(session.exec(select(Invoice.family_id)).all())
        row = session.exec(
            select(Child, HealthNote).join(HealthNote, col(HealthNote.child_id) == Child.id).order_by(col(Child.id))
        ).first()
        assert row is not None
        pai_child, note = row
    engine.dispose()
    return counts, [(f, f.id in billed) for f in families], (pai_child, note)


async def test_dashboard_shows_town_agent_and_live_counters(make_app, town_url):
    counts, _, _ = town_facts(town_url)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        text = screen_text(app)
        assert counts.town in text
        assert "Lundi 23 novembre 2026" in text
        assert "Modifications à" in text and "Impayés" in text
        assert app.screen.query_one("#pending-changes", Counter).value == str(counts.pending.changes)
        assert app.screen.query_one("#pending-messages", Counter).value == str(counts.pending.messages)
        assert counts.pending.changes > 0 and counts.pending.messages > 0


async def test_search_open_family_and_switch_tabs(make_app, town_url):
    _, facts, _ = town_facts(town_url)
    families = [f for f, _ in facts]
    billed = [f for f, has_invoices in facts if has_invoices]
    # A billed family, with an accent in its name if the town has one.
    target = next((f for f in billed if f.name != fold(f.name).upper()), billed[0])
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, FamiliesScreen)
        results = app.screen.family_list
        assert [r.id for r in results.rows] == [f.id for f in families]  # empty search: everyone, by name
        await pilot.press(*fold(target.name).split()[0])
        await settle(pilot)
        shown = [r.name for r in results.rows]
        assert target.name in shown
        assert len(shown) < len(families)
        # Down to the list, onto the family, Enter opens its file.
        await pilot.press("down")
        for _ in range(shown.index(target.name)):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        assert app.screen.family_id == target.id
        assert target.name in screen_text(app)
        assert "Solde dû" in screen_text(app)
        await pilot.press("4")
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "factures"
        assert app.screen.detail is not None
        invoices = app.screen.detail.invoices
        assert invoices, "the target family was billed"
        assert await shows(pilot, invoices[0].number)
        await pilot.press("2")
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "enfants"
        await pilot.press("6")
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "historique"
        assert await until(pilot, lambda: any(kind in screen_text(app) for kind in ("Création famille", "Décision")))
        history = screen_text(app)
        assert ("Création famille" in history or "Décision" in history) and "decide" not in history
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FamiliesScreen)
        assert app.screen.query_one("#family-search", Input).value == fold(target.name).split()[0]


async def test_a_search_that_finds_nothing_says_so(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"zzzqqq")
        await settle(pilot)
        assert "Aucune famille ne correspond à « zzzqqq »" in screen_text(app)


async def test_f1_lists_the_keys_of_the_current_screen(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert await shows(pilot, "Aide — Familles")
        text = screen_text(app)
        assert "Retour" in text and "Chercher" in text and "Commandes" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FamiliesScreen)


async def test_command_palette_finds_actions_by_french_name(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"familles")
        await settle(pilot)  # the palette's search is a worker: its hits listed, the best highlighted
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FamiliesScreen)


async def test_command_palette_opens_a_family_by_name(make_app, town_url):
    _, facts, _ = town_facts(town_url)
    target = facts[0][0]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*fold(target.name).split()[0])
        await settle(pilot)  # the palette's search, and the families' query it starts
        assert await shows(pilot, f"Famille {target.name}")


async def test_health_notes_shown_to_the_desk_and_hidden_from_the_regisseur(make_app, town_url):
    _, _, (child, note) = town_facts(town_url)
    shown = f"{HEALTH_KIND[note.kind.value]} : {note.text[:20]}"  # in the Santé column of the Enfants tab
    for role, visible in ((Role.ACCUEIL, True), (Role.REGISSEUR, False)):
        app = make_app(role)
        async with app.run_test(size=(200, 40)) as pilot:
            app.open_family(child.family_id)
            await settle(pilot)
            await pilot.press("2")
            await pilot.pause()
            assert await shows(pilot, "Né(e) le")  # the children's table laid out
            text = screen_text(app)
            assert (shown in text) is visible, text
            assert ("accès réservé" in text) is not visible


async def test_enter_in_the_search_field_opens_the_first_family_found(make_app, town_url):
    _, facts, _ = town_facts(town_url)
    families = [f for f, _ in facts]
    target = families[-1]  # last in name order: not the first of an empty search
    word = fold(target.name).split()[0]
    expected = next(f for f in families if any(w.startswith(word) for w in fold(f.name).split()))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press(*word, "enter")  # at once: before the results of the last key came
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        assert app.screen.family_id == expected.id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FamiliesScreen)
        await pilot.press("enter")  # once more, on the results shown
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen) and app.screen.family_id == expected.id


async def test_each_place_keeps_its_screens(make_app, town_url):
    """Tableau de bord and Familles are modes: Échap on Familles goes back to the dashboard,
    F2 from anywhere to the search field, with the family files opened above it closed."""
    _, facts, _ = town_facts(town_url)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.current_mode == "tableau" and len(app.screen_stack) == 1
        await pilot.press("f2")
        await settle(pilot)
        assert app.current_mode == "familles"
        app.open_family(facts[0][0].id)
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, FamiliesScreen) and len(app.screen_stack) == 1
        assert app.focused is app.screen.query_one("#family-search")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.current_mode == "tableau"


async def test_the_app_gives_screens_what_they_ask_for(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)):
        assert isinstance(app, Desk)


async def test_a_failed_read_is_told_in_french(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.open_family(999_999)
        await settle(pilot)
        text = screen_text(app)
        assert "Lecture impossible" in text and "Aucune famille n° 999999." in text
        assert "Traceback" not in text
