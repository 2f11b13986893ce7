"""What every tab of the family file shares: it shows its part of the file in tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.widgets import DataTable, TabPane

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail


class FilePane(TabPane):
    """A tab of the fiche famille; ``show`` fills it from the file as read."""

    def show(self, detail: FamilyDetail) -> None:
        raise NotImplementedError

    def fill(self, selector: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]], *, empty: str) -> None:
        """The table ``selector`` with ``columns`` and ``rows``; one row saying ``empty`` when there is none."""
        table = self.query_one(selector, DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        if not rows:
            table.add_row(empty, *[""] * (len(columns) - 1))
        for row in rows:
            table.add_row(*row)

    def selected(self, table_id: str, rows: Sequence[Any]) -> Any | None:
        """The row of ``rows`` under the cursor of table ``table_id``."""
        index = self.query_one(f"#{table_id}", DataTable).cursor_row
        return rows[index] if 0 <= index < len(rows) else None
