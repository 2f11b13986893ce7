"""The planning's pending edits: one request per cell in the order made, the state each one
leads to, and the French words for what they did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from regie_tui import formatting
from regie_tui.codes import BookingState

if TYPE_CHECKING:
    from regie_tui.services.bookings.cells import Action, CellCheck, CellRequest

Key = tuple[date, int]
Wanted = tuple[Key, "Action", BookingState | None]  # a cell, what to do, the state wanted
#: States that hold the cell for the family (a booking to free with space, to copy or repeat).
HELD = frozenset({BookingState.RESERVED, BookingState.WAITING_LIST, BookingState.REQUESTED})
MAX_REFUSALS_SHOWN = 3


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def pending_text(count: int) -> str:
    if not count:
        return ""
    return f"° {count} à enregistrer (ctrl+s)"


def where(check: CellCheck) -> str:
    return f"{formatting.short_date(check.day)} {check.unit_name}"


@dataclass
class Batch:
    """The pending edits, one per cell in the order made, and each one's resulting state."""

    requests: dict[Key, CellRequest] = field(default_factory=dict)
    states: dict[Key, BookingState | None] = field(default_factory=dict)

    def copy(self) -> Batch:
        return Batch(dict(self.requests), dict(self.states))
