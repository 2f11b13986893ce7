"""The bannette's list: one row per item, grouped by family or by kind, the group's name
written on its first row only."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.widgets import DataTable

from regie_tui import clock, formatting
from regie_tui.services.portal.inbox.listing import InboxPage
from regie_tui.services.portal.pending import KINDS

if TYPE_CHECKING:
    from regie_tui.services.portal.inbox.listing import Grouping, InboxRow

FAMILY_WIDTH, KIND_WIDTH = 14, 13


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class InboxTable(DataTable[str]):
    """The rows of a page of the bannette; the screen says which page and how it is grouped."""

    def __init__(self) -> None:
        super().__init__(id="inbox-list", cursor_type="row", zebra_stripes=False)
        self.page: InboxPage | None = None
        self.grouping: Grouping = "family"

    def summary_width(self) -> int:
        """What the row leaves to the summary: no sideways scrolling at any width."""
        return max(20, self.app.size.width - FAMILY_WIDTH - KIND_WIDTH - 5 - 2 * 4 - 2)

    def add_item_columns(self) -> None:
        self.add_column("Famille", width=FAMILY_WIDTH, key="family")
        self.add_column("Type", width=KIND_WIDTH, key="kind")
        self.add_column("Reçu", width=5, key="at")
        self.add_column("Objet", width=self.summary_width(), key="summary")

    def group_of(self, row: InboxRow) -> object:
        return row.family_id if self.grouping == "family" else row.kind

    def fill(self, page: InboxPage, grouping: Grouping, *, keep_row: int) -> None:
        """Show ``page``, the cursor on row ``keep_row`` (or the last one)."""
        self.page, self.grouping = page, grouping
        self.clear()
        width = self.summary_width()
        previous: object = None
        for row in page.rows:
            group = self.group_of(row)
            first = group != previous
            previous = group
            self.add_row(
                clip(row.family_name, FAMILY_WIDTH) if first or grouping == "kind" else "",
                clip(row.kind_label, KIND_WIDTH) if first or grouping == "family" else "",
                formatting.short_date(row.submitted_at.astimezone(clock.PARIS).date())[:5],
                clip(row.summary, width),
                key=str(row.id),
            )
        if page.rows:
            self.move_cursor(row=min(keep_row, len(page.rows) - 1))

    def current_id(self) -> int | None:
        """The item under the cursor."""
        if not self.page or not self.page.rows or self.cursor_row < 0:
            return None
        return self.page.rows[min(self.cursor_row, len(self.page.rows) - 1)].id

    def next_id(self, submission_id: int) -> int | None:
        """The item shown once ``submission_id`` is decided: the one below it, else the one above."""
        assert self.page is not None
        rows = self.page.rows
        position = next(i for i, row in enumerate(rows) if row.id == submission_id)
        after = rows[position + 1 : position + 2] or rows[position - 1 : position]
        return after[0].id if after else None

    def drop(self, submission_id: int, kind: str) -> None:
        """A decided item leaves the list at once; the one that takes its place is under the cursor."""
        page = self.page
        assert page is not None
        name = next(name for name, (kinds, _) in KINDS.items() if kind in kinds)
        counts = replace(page.counts, **{name: getattr(page.counts, name) - 1})
        position = next(i for i, row in enumerate(page.rows) if row.id == submission_id)
        rows = [row for row in page.rows if row.id != submission_id]
        self.page = InboxPage(rows=rows, counts=counts, total=page.total - 1)
        if position < len(rows) and (
            position == 0 or self.group_of(page.rows[position - 1]) != self.group_of(rows[position])
        ):
            heir = rows[position]  # now the first of its group: it shows the group's name
            column = "family" if self.grouping == "family" else "kind"
            label = heir.family_name if column == "family" else heir.kind_label
            self.update_cell(str(heir.id), column, clip(label, FAMILY_WIDTH if column == "family" else KIND_WIDTH))
        self.remove_row(str(submission_id))
