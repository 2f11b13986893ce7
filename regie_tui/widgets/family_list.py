"""The Familles result list, drawn line by line (Line API): cheap to repaint on every keystroke."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from regie_tui import formatting

if TYPE_CHECKING:
    from regie_tui.services.families.search import FamilyRow

# (title, width, right-aligned); the last column takes what is left of the line.
COLUMNS = [
    ("N°", 5, True),
    ("Famille", 17, False),
    ("Responsables", 15, False),
    ("Enfants", 15, False),
    ("Solde dû", 10, True),
    ("Commune", 0, False),
]
GAP = " "


def _cells(row: FamilyRow) -> list[str]:
    balance = formatting.money(row.balance_cents) if row.balance_cents else ""
    return [str(row.id), row.name, row.guardians, row.children, balance, row.city]


def _fit(text: str, width: int, right: bool) -> str:
    """``text`` cut or padded to ``width`` cells; a cut ends with an ellipsis."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    return " " * (width - cell_len(text)) + text if right else set_cell_size(text, width)


def render_row(cells: list[str], width: int) -> str:
    parts = []
    used = 0
    for (_, column_width, right), text in zip(COLUMNS, cells, strict=True):
        column_width = column_width or max(0, width - used)
        parts.append(_fit(text, column_width, right))
        used += column_width + len(GAP)
    return set_cell_size(GAP.join(parts), width)


class FamilyList(ScrollView, can_focus=True, inherit_bindings=False):
    """Families found, one per line, under a fixed header line.

    Bindings: ↑/↓ move, pgup/pgdn page, home/end first/last, ⏎ open.
    Messages: :class:`Highlighted` when the cursor lands on a family, :class:`Selected`
    on ⏎ or a click on the highlighted line.
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Famille précédente", show=False),
        Binding("down", "cursor(1)", "Famille suivante", show=False),
        Binding("pageup", "page(-1)", "Page précédente", show=False),
        Binding("pagedown", "page(1)", "Page suivante", show=False),
        Binding("home", "first", "Première famille", show=False),
        Binding("end", "last", "Dernière famille", show=False),
        Binding("enter", "select", "Ouvrir la fiche", id="open-family", tooltip="Ouvrir la famille sélectionnée"),
    ]
    COMPONENT_CLASSES = {"family-list--header", "family-list--cursor", "family-list--odd"}
    DEFAULT_CSS = """
    FamilyList { height: 1fr; }
    FamilyList > .family-list--header { text-style: bold; background: $panel; }
    FamilyList > .family-list--odd { background: $boost; }
    FamilyList > .family-list--cursor { background: $surface-lighten-2; text-style: bold; }
    FamilyList:focus > .family-list--cursor { background: $accent; color: $text; }
    """

    cursor: reactive[int] = reactive(0, init=False)

    class Highlighted(Message):
        def __init__(self, family_list: FamilyList, index: int) -> None:
            super().__init__()
            self.family_list = family_list
            self.index = index

    class Selected(Message):
        def __init__(self, family_id: int) -> None:
            super().__init__()
            self.family_id = family_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[FamilyRow] = []
        self._texts: list[list[str]] = []

    # ------------------------------------------------------------------ content

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def highlighted(self) -> FamilyRow | None:
        return self.rows[self.cursor] if self.rows else None

    def show(self, rows: list[FamilyRow]) -> None:
        """Replace the list (a new search) and put the cursor on the first family."""
        self.rows = list(rows)
        self._texts = [_cells(r) for r in rows]
        self.set_reactive(FamilyList.cursor, 0)
        self._resized()
        self.scroll_to(y=0, animate=False)

    def extend(self, rows: list[FamilyRow]) -> None:
        """Add the next page below what is shown; the cursor stays where it is."""
        self.rows.extend(rows)
        self._texts.extend(_cells(r) for r in rows)
        self._resized()

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self.refresh()

    # ---------------------------------------------------------------- drawing

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            header = render_row([title for title, _, _ in COLUMNS], width)
            return Strip([Segment(header, self.get_component_rich_style("family-list--header"))], width)
        index = self.scroll_offset.y + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        style = self.rich_style
        if index == self.cursor:
            style += self.get_component_rich_style("family-list--cursor")
        elif index % 2:
            style += self.get_component_rich_style("family-list--odd")
        return Strip([Segment(render_row(self._texts[index], width), style)], width)

    def on_resize(self, _event: events.Resize) -> None:
        self._resized()

    # ---------------------------------------------------------------- moving

    @property
    def _page_rows(self) -> int:
        return max(1, self.size.height - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        top = self.scroll_offset.y
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + self._page_rows:
            self.scroll_to(y=new - self._page_rows + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, new))

    def _move_to(self, index: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, index))

    def action_cursor(self, step: int) -> None:
        self._move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * self._page_rows)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self.rows) - 1)

    def action_select(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self.rows[self.cursor].id))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y == 0 or index >= len(self.rows):
            return
        if index == self.cursor:
            self.action_select()
        else:
            self.cursor = index
