"""Publications screen: an agent publishes news and documents and withdraws them, at the keyboard."""

import pytest
from sqlmodel import Session
from textual.widgets import DataTable, Input, TextArea

from regie_tui.app import create_app
from regie_tui.db import make_engine
from regie_tui.screens.dialogs import ConfirmScreen
from regie_tui.screens.publications import DocumentForm, NewsForm, PublicationsScreen
from regie_tui.services.portal.publications import portal_today
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY
from pilot import screen_text, settle, shows

PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture
def town(fresh_town_url):
    """(app factory, engine) on a private copy of the test town, as its admin."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        agent = resolve_agent(session, ADMIN_LOGIN)
    yield (lambda: create_app(engine=engine, agent=agent, today=TODAY)), engine
    engine.dispose()


def on_portal(engine):
    with Session(engine) as session:
        return portal_today(session, today=TODAY)


def notices(app) -> list[str]:
    """The notifications shown (toasts wrap their text over several lines of the screen)."""
    return [notification.message for notification in app._notifications]


async def type_text(pilot, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


async def open_screen(app, pilot) -> PublicationsScreen:
    await settle(pilot)
    app.push_screen(PublicationsScreen())
    await settle(pilot)
    assert isinstance(app.screen, PublicationsScreen)
    return app.screen


async def test_new_news_is_listed_online_and_on_the_portal(town):
    make, engine = town
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_screen(app, pilot)
        shown = on_portal(engine)
        documents, news_before = len(shown.documents), len(shown.news)
        text = screen_text(app)
        assert "Documents de la structure" in text and "Actualités" in text
        assert f"{documents} document(s), {documents} en ligne · {news_before} actualité(s)" in text
        assert await shows(pilot, shown.news[0].title)

        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewsForm)
        assert form.query_one("#news-from", Input).value == "23/11/2026"  # today by default
        await type_text(pilot, "Fermeture")
        await pilot.press("tab")
        await type_text(pilot, "Accueil ferme le 11/12")
        await pilot.press("tab", "tab")  # "Du" kept, to "Au"
        # A date that does not exist: refused at the field, the form stays open.
        await type_text(pilot, "31/12/202")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form
        assert "Au : « 31/12/202 » n'est pas une date valide (JJ/MM/AAAA)." in screen_text(app)
        assert form.focused is form.query_one("#news-to", Input)
        # The end before the start: the service's refusal, shown in the form.
        form.query_one("#news-to", Input).value = "20/11/2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "La date de fin (20/11/2026) précède la date de début (23/11/2026)." in screen_text(app)
        assert len(on_portal(engine).news) == news_before  # nothing written

        form.query_one("#news-to", Input).value = "11/12/2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        text = screen_text(app)
        assert "Fermeture" in text and "● en ligne" in text and "11/12/2026" in text
        assert f"{news_before + 1} actualité(s), {news_before + 1} en ligne" in text
        (news,) = [n for n in on_portal(engine).news if n.title == "Fermeture"]
        assert (news.title, news.body, news.published_to.isoformat()) == (
            "Fermeture",
            "Accueil ferme le 11/12",
            "2026-12-11",
        )


async def test_a_file_that_is_not_a_pdf_is_refused_then_a_pdf_published(town, tmp_path):
    make, engine = town
    text_file = tmp_path / "reglement.pdf"
    text_file.write_text("juste du texte")
    pdf = tmp_path / "projet.pdf"
    pdf.write_bytes(PDF)
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_screen(app, pilot)
        await pilot.press("d")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DocumentForm)
        await type_text(pilot, "Projet educatif")
        form.query_one("#document-path", Input).value = str(text_file)
        await pilot.press("ctrl+s")
        await settle(pilot)
        still = app.screen
        assert still is form
        assert "« reglement.pdf » n'est ni un PDF, ni une image JPEG ou PNG" in screen_text(app)
        assert form.focused is form.query_one("#document-path", Input)

        form.query_one("#document-path", Input).value = str(pdf)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "Projet educatif" in screen_text(app) and "projet.pdf" in screen_text(app)
        assert on_portal(engine).documents[0].title == "Projet educatif"  # the newest first


async def test_tab_then_w_withdraws_the_selected_news_after_confirmation(town):
    make, engine = town
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_screen(app, pilot)
        seeded = {n.title for n in on_portal(engine).news}
        for title in ("Grève jeudi", "Sortie au zoo"):
            await pilot.press("n")
            await settle(pilot)
            app.screen.query_one("#news-title", Input).value = title
            app.screen.query_one("#news-text", TextArea).text = "Détails sur le portail."
            app.screen.query_one("#news-to", Input).value = "30/11/2026"
            await pilot.press("ctrl+s")
            await settle(pilot)
        assert len(on_portal(engine).news) == len(seeded) + 2

        await pilot.press("tab")
        news_table = screen.query_one("#news", DataTable)
        assert screen.focused is news_table
        news_table.move_cursor(row=1)
        chosen = screen.selected()
        assert chosen is not None
        assert chosen.title in ("Grève jeudi", "Sortie au zoo")
        await pilot.press("w")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert f"Retirer l'actualité « {chosen.title} » du portail ?" in screen_text(app)
        await pilot.press("escape")  # no: nothing changes
        await settle(pilot)
        assert len(on_portal(engine).news) == len(seeded) + 2

        await pilot.press("w")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert app.screen is screen
        titles = {n.title for n in on_portal(engine).news}
        assert titles == (seeded | {"Grève jeudi", "Sortie au zoo"}) - {chosen.title}
        text = screen_text(app)
        assert "✗ retirée" in text
        assert f"L'actualité « {chosen.title} » est retirée du portail." in notices(app)
        assert f"{len(seeded) + 2} actualité(s), {len(seeded) + 1} en ligne" in text

        # Withdrawn already: said so, no question asked.
        await pilot.press("w")
        await settle(pilot)
        assert app.screen is screen
        assert f"L'actualité « {chosen.title} » est déjà retirée." in notices(app)

        await pilot.press("tab")
        assert screen.focused is screen.query_one("#documents", DataTable)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, PublicationsScreen)
