"""Familles: search as you type, results page by page from SQL, Enter opens the file."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input, Static

from regie_tui import formatting
from regie_tui.screens.base import RegieScreen
from regie_tui.widgets.family_list import FamilyList

if TYPE_CHECKING:
    from regie_tui.services.families.search import FamilyPage
    from regie_tui.workers import Db

PAGE_SIZE = 50
PREFETCH_ROWS = 5  # load the next page when the cursor gets this close to the end


def _page_query(query: str, after: tuple[str, int] | None = None) -> Callable[[Db], FamilyPage]:
    def run(session: Db) -> FamilyPage:
        from regie_tui.services.families.search import search_families

        return search_families(session, query, limit=PAGE_SIZE, after=after)

    return run


class FamiliesScreen(RegieScreen):
    """Search field above the results; ⏎ in the field opens the first family found."""

    HELP_TITLE = "Familles"
    CSS_PATH = "families.tcss"
    BINDINGS: ClassVar = [
        Binding("slash,ctrl+f", "focus_search", "Chercher", id="focus-search", tooltip="Revenir au champ de recherche"),
        Binding("escape", "app.dashboard", "Retour", id="back", tooltip="Revenir au tableau de bord"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._query = ""  # what the search field holds
        self._shown_query: str | None = None  # what the list shows the results of
        self._open_first_when_shown = False  # ⏎ pressed before the results of the last keystroke came
        self._page: FamilyPage | None = None
        self._loading_more = False
        self._status_text = ""
        self.searches_shown = 0  # results displayed so far (read by the search benchmark)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Nom, prénom, téléphone, e-mail ou n° de facture", id="family-search")
        yield FamilyList(id="family-list")
        yield Static("", id="family-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Familles"
        self.focus_search()
        self._search("")

    @property
    def family_list(self) -> FamilyList:
        return self.query_one(FamilyList)

    def focus_search(self) -> None:
        self.query_one("#family-search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._open_first_when_shown = False
        self._search(event.value)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        """⏎ in the search field opens the first family found, once the results are those of what was typed."""
        if self._shown_query == self._query:
            self._open_first()
        else:
            self._open_first_when_shown = True

    def _open_first(self) -> None:
        first = self.family_list.rows[0] if self.family_list.rows else None
        if first is not None:
            self.desk.open_family(first.id)

    def on_key(self, event: events.Key) -> None:
        if event.key == "down" and self.focused is self.query_one("#family-search", Input):
            self.family_list.focus()
            event.stop()

    def _search(self, query: str) -> None:
        self._query = query
        self._loading_more = False

        def deliver(page: FamilyPage) -> None:
            if query != self._query:
                return
            self._page = page
            self._shown_query = query
            self.family_list.show(page.rows)
            self._update_status()
            self.searches_shown += 1
            if self._open_first_when_shown:
                self._open_first_when_shown = False
                self._open_first()

        self.load(_page_query(query), deliver)

    def _update_status(self) -> None:
        count = self.family_list.row_count
        if not count:
            text = f"Aucune famille ne correspond à « {self._query} »." if self._query else "Aucune famille."
        else:
            more = " — descendez pour voir la suite" if self._page and self._page.has_more else ""
            text = f"{formatting.number(count)} famille(s) affichée(s){more}"
        if text != self._status_text:  # an update re-lays out the screen: only when it changes
            self._status_text = text
            self.query_one("#family-status", Static).update(text)

    def on_family_list_highlighted(self, event: FamilyList.Highlighted) -> None:
        page = self._page
        if (
            page is None
            or not page.has_more
            or self._loading_more
            or event.index < event.family_list.row_count - PREFETCH_ROWS
        ):
            return
        self._loading_more = True
        query, after = self._query, page.next_after

        def deliver(next_page: FamilyPage) -> None:
            if query != self._query:
                return
            self._loading_more = False
            self._page = next_page
            self.family_list.extend(next_page.rows)
            self._update_status()

        self.load(_page_query(query, after), deliver)

    def on_family_list_selected(self, event: FamilyList.Selected) -> None:
        self.desk.open_family(event.family_id)

    def action_focus_search(self) -> None:
        self.focus_search()
