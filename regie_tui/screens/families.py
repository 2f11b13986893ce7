"""Familles: search as you type, results page by page from SQL, Enter opens the file."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Input, Static

from regie_tui import formatting
from regie_tui.screens.base import RegieScreen
from regie_tui.services.families import FamilyPage, search_families

PAGE_SIZE = 50
PREFETCH_ROWS = 5  # load the next page when the cursor gets this close to the end


class FamiliesScreen(RegieScreen):
    HELP_TITLE = "Familles"
    BINDINGS = [
        Binding("enter", "open", "Ouvrir la fiche", id="open-family", tooltip="Ouvrir la famille sélectionnée"),
        Binding("slash,ctrl+f", "focus_search", "Chercher", id="focus-search", tooltip="Revenir au champ de recherche"),
        Binding("escape", "back", "Retour", id="back", tooltip="Revenir au tableau de bord"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._query = ""
        self._page: FamilyPage | None = None
        self._loading_more = False
        self.searches_shown = 0  # results displayed so far (read by the search benchmark)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Nom, prénom, téléphone, e-mail ou n° de facture", id="family-search")
        yield DataTable(id="family-list", cursor_type="row", zebra_stripes=True)
        yield Static("", id="family-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Familles"
        table = self.query_one(DataTable)
        # Widths fit 80 columns; the town comes last as the least needed.
        table.add_column("N°", key="id", width=5)
        table.add_column("Famille", key="name", width=16)
        table.add_column("Responsables", key="guardians", width=15)
        table.add_column("Enfants", key="children", width=15)
        table.add_column("Solde dû", key="balance", width=10)
        table.add_column("Commune", key="city")
        self.focus_search()
        self._search("")

    def focus_search(self) -> None:
        self.query_one("#family-search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def on_key(self, event) -> None:
        if event.key == "down" and self.focused is self.query_one("#family-search", Input):
            self.query_one(DataTable).focus()
            event.stop()

    def _search(self, query: str) -> None:
        self._query = query
        self._loading_more = False
        self.load(lambda session: search_families(session, query, limit=PAGE_SIZE), self._show_first_page(query))

    def _show_first_page(self, query: str):
        def deliver(page: FamilyPage) -> None:
            if query != self._query:
                return
            table = self.query_one(DataTable)
            table.clear()
            self._page = page
            self._append(page)
            table.move_cursor(row=0)
            self.searches_shown += 1
        return deliver

    def _append(self, page: FamilyPage) -> None:
        table = self.query_one(DataTable)
        for row in page.rows:
            balance = Text(formatting.money(row.balance_cents) if row.balance_cents else "", justify="right")
            table.add_row(str(row.id), row.name, row.guardians, row.children, balance, row.city, key=str(row.id))
        self._update_status()

    def _update_status(self) -> None:
        table = self.query_one(DataTable)
        status = self.query_one("#family-status", Static)
        if not table.row_count:
            status.update(f"Aucune famille ne correspond à « {self._query} »." if self._query else "Aucune famille.")
            return
        more = " — descendez pour voir la suite" if self._page and self._page.has_more else ""
        status.update(f"{formatting.number(table.row_count)} famille(s) affichée(s){more}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        page = self._page
        if (page is None or not page.has_more or self._loading_more
                or event.cursor_row < table.row_count - PREFETCH_ROWS):
            return
        self._loading_more = True
        query, after = self._query, page.next_after

        def deliver(next_page: FamilyPage) -> None:
            if query != self._query:
                return
            self._loading_more = False
            self._page = next_page
            self._append(next_page)

        self.load(lambda session: search_families(session, query, limit=PAGE_SIZE, after=after), deliver)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.regie.open_family(int(event.row_key.value))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            self.regie.open_family(int(row_key.value))

    def action_focus_search(self) -> None:
        self.focus_search()

    def action_back(self) -> None:
        self.app.pop_screen()
