"""Pilot tests: an agent edits a family file at the keyboard, on a private copy of the town."""

import pytest
from sqlmodel import Session, col, select
from textual.widgets import DataTable, Input

from regie_tui.app import create_app
from regie_tui.db import make_engine
from regie_tui.models import Agent, Family, Guardian, Role
from regie_tui.screens.family.form import FamilyForm
from regie_tui.screens.family.messages import MessageScreen
from regie_tui.screens.family.screen import FamilyScreen
from regie_tui.services.common.sql import id_col
from regie_tui.services.families import edit as family_edit
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY, get_row
from pilot import screen_text, settle, shows


@pytest.fixture
def desk(fresh_town_url):
    """desk(): the app on a writable copy of the town, as the admin; the engine to check with."""
    engine = make_engine(fresh_town_url)

    def build():
        with Session(engine) as session:
            agent = resolve_agent(session, ADMIN_LOGIN)
        return create_app(engine=engine, agent=agent, today=TODAY)

    yield build, engine
    engine.dispose()


def _payer_family(engine) -> tuple[int, Guardian]:
    """The first family by id, and its payer (the first guardian row of its Foyer tab)."""
    with Session(engine) as session:
        family_id = session.exec(select(id_col(Family.id)).order_by(col(Family.id))).first()
        assert family_id is not None, "the town has families"
        payer = session.exec(select(Guardian).where(Guardian.family_id == family_id, Guardian.is_payer)).one()
    return family_id, payer


async def _open(pilot, family_id: int) -> FamilyScreen:
    await settle(pilot)
    pilot.app.open_family(family_id)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, FamilyScreen)
    return screen


async def _set(pilot, field: str, text: str) -> None:
    field_input = pilot.app.screen.query_one(f"#field-{field}", Input)
    field_input.focus()
    field_input.value = text
    await pilot.pause()


async def test_change_the_phone_and_read_it_back(desk):
    build, engine = desk
    family_id, payer = _payer_family(engine)
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, family_id)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FamilyForm)
        assert f"Responsable : {payer.first_name} {payer.last_name}" in screen_text(app)
        await _set(pilot, "mobile_phone", "06 1")
        assert await shows(pilot, "Numéro de téléphone invalide : « 06 1 »")  # at the field, as typed
        await _set(pilot, "mobile_phone", "0698765432")
        assert "Numéro de téléphone invalide" not in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        assert "06 98 76 54 32" in screen_text(app)  # the file reloaded, on the Foyer tab
    with Session(engine) as session:
        assert get_row(session, Guardian, payer.id).mobile_phone == "06 98 76 54 32"


async def test_stale_save_keeps_what_was_typed(desk):
    build, engine = desk
    family_id, payer = _payer_family(engine)
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, family_id)
        await pilot.press("e")
        await settle(pilot)
        await _set(pilot, "email", "nouvelle.adresse@exemple.fr")
        # Meanwhile another agent changes the same file.
        with Session(engine) as session:
            other = Agent(login="mroux", display_name="Marc Roux", role=Role.ACCUEIL)
            session.add(other)
            session.flush()
            family_edit.set_fields(
                session,
                family_id=family_id,
                entity="family",
                entity_id=family_id,
                values={"city": "Contrexéville"},
                agent_id=other.id,
            )
            session.commit()
        await pilot.press("ctrl+s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FamilyForm) and form.stale
        text = screen_text(app)
        assert "La famille a été modifiée depuis l'ouverture du formulaire" in text
        assert "Marc Roux, le" in text and "Contrexéville" in text
        assert form.query_one("#field-email", Input).value == "nouvelle.adresse@exemple.fr"
        # ctrl+r closes the form and reloads the file, which now shows the other agent's change.
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        assert "Contrexéville" in screen_text(app)
    with Session(engine) as session:
        assert get_row(session, Guardian, payer.id).email == payer.email  # nothing written


async def test_new_child_then_history_filter_and_messages(desk):
    build, engine = desk
    with Session(engine) as session:
        from regie_tui.models import Message

        family_id = session.exec(select(Message.family_id).order_by(col(Message.sent_at).desc())).first()
        assert family_id is not None
        subject = session.exec(
            select(Message.subject).where(Message.family_id == family_id).order_by(col(Message.sent_at).desc())
        ).first()
        assert subject is not None
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, family_id)
        await pilot.press("2", "n")
        await settle(pilot)
        assert "Nouvel enfant" in screen_text(app)
        await _set(pilot, "first_name", "Hugo")
        await _set(pilot, "birth_date", "01/01/2000")
        assert await shows(pilot, "Date de naissance : un enfant doit avoir moins de")
        await _set(pilot, "birth_date", "04/05/2020")
        app.screen.query_one("#field-sex").value = "M"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        assert "Hugo" in screen_text(app)
        # Historique: the creation, then filtered to portal logins (none by the agent).
        await pilot.press("6")
        await settle(pilot)
        assert "Création enfant" in screen_text(app)
        assert "Connexion au portail" in screen_text(app)  # the portal logins of the seeded town
        first_row = screen.query_one("#history", DataTable).get_row_at(0)
        assert first_row[2] == "Création enfant" and "prénom : Hugo" in first_row[3]
        await pilot.press("t")  # Modifications
        await settle(pilot)
        assert "Type : Modifications" in screen_text(app)
        assert "Création enfant" in screen_text(app)
        await pilot.press("t")  # Documents
        await settle(pilot)
        assert "Type : Documents" in screen_text(app)
        assert "Création enfant" not in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        assert "Période : 7 derniers jours" in screen_text(app)
        # Messages: newest first, ⏎ reads it.
        await pilot.press("7")
        await settle(pilot)
        assert subject in screen_text(app)
        assert screen.query_one("#family-messages", DataTable).has_focus
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MessageScreen)
        assert subject in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)


async def test_archive_asks_then_leaves_the_file(desk):
    build, engine = desk
    family_id, _ = _payer_family(engine)
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, family_id)
        await pilot.press("x")
        await settle(pilot)
        assert "Archiver la famille" in screen_text(app)
        await pilot.press("escape")  # no: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
        await pilot.press("x")
        await settle(pilot)
        await pilot.click("#confirm-yes")
        await settle(pilot)
        assert not isinstance(app.screen, FamilyScreen)
    with Session(engine) as session:
        assert session.get(Family, family_id).archived_at is not None


async def test_child_form_sets_a_diet(desk):
    from textual.widgets import Checkbox

    from regie_tui.models import Child, ChildDiet, Diet

    build, engine = desk
    with Session(engine) as session:
        family_id = session.exec(select(id_col(Family.id)).order_by(col(Family.id))).first()
        assert family_id is not None
        eldest = session.exec(select(Child).where(Child.family_id == family_id).order_by(col(Child.birth_date))).first()
        assert eldest is not None
        had = set(session.exec(select(ChildDiet.diet_id).where(ChildDiet.child_id == eldest.id)).all())
        sans_porc = session.exec(select(id_col(Diet.id)).where(Diet.label == "Sans porc")).one()
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, family_id)
        await pilot.press("2", "e")
        await settle(pilot)
        box = next(b for b in app.screen.query(Checkbox) if b.name == str(sans_porc))
        box.focus()
        await pilot.press("space")
        await pilot.pause()
        wanted = "non" if sans_porc in had else "oui"
        assert await shows(pilot, f"Sans porc : {wanted}")  # the state in words, not only in colour
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FamilyScreen)
    with Session(engine) as session:
        now = set(session.exec(select(ChildDiet.diet_id).where(ChildDiet.child_id == eldest.id)).all())
    assert now == had ^ {sans_porc}
