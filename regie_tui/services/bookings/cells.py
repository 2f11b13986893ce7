"""A booking cell: what a caller asks of it, what the rules answer, and the words for its states.

The vocabulary shared by the rules (:mod:`.rules`), the planning grid, the roster and the
bannette: a :class:`CellRequest` goes in, a :class:`CellCheck` comes out; the notice deadline
(délai de prévenance) of a day; a save refused as stale (:class:`StaleCells`).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from regie_tui.clock import PARIS
from regie_tui.errors import RegieError
from regie_tui.formatting import local_datetime, short_date
from regie_tui.models import BookingState

Action = Literal["book", "cancel", "set"]

#: States recording what happened on the day (pointage).
ATTENDANCE = frozenset(
    {
        BookingState.PRESENT,
        BookingState.PRESENT_SPECIAL,
        BookingState.ABSENT_JUSTIFIED,
        BookingState.ABSENT_UNJUSTIFIED,
    }
)
#: States holding a place of the group's capacity.
HOLDING = ATTENDANCE | {BookingState.RESERVED, BookingState.REQUESTED}
#: States that put the unit on the child's day (for combinations and overlaps).
ON_DAY = HOLDING | {BookingState.WAITING_LIST}

#: French words for the stored booking states (audit entries, messages).
STATE_LABELS = {
    BookingState.RESERVED: "réservée",
    BookingState.PRESENT: "présent",
    BookingState.PRESENT_SPECIAL: "présence spéciale",
    BookingState.ABSENT_JUSTIFIED: "absence justifiée",
    BookingState.ABSENT_UNJUSTIFIED: "absence non justifiée",
    BookingState.REQUESTED: "en attente de validation",
    BookingState.WAITING_LIST: "liste d'attente",
    BookingState.REFUSED: "refusée",
}
FREE = "libre"
#: The longest reason for setting a rule aside (kept in the audit trail), as every reason the régie stores.
REASON_MAX = 500


@dataclass(frozen=True)
class CellRequest:
    """``book`` (reserve), ``cancel`` (free) or ``set`` a stored ``state`` (attendance, waiting list)."""

    day: date
    unit_id: int
    action: Action
    state: BookingState | None = None


@dataclass(frozen=True)
class CellStamp:
    """A cell as a screen loaded it: its booking (None: free) and that booking's version."""

    booking_id: int | None
    version: int


FREE_STAMP = CellStamp(None, 0)


@dataclass(frozen=True)
class Clash:
    """A cell changed by someone else since it was loaded: who, when, and what it is now."""

    day: date
    unit_name: str
    activity_name: str
    state: BookingState | None
    who: str
    at: datetime | None

    def text(self) -> str:
        when = f", le {local_datetime(self.at)}" if self.at else ""
        now = STATE_LABELS[self.state] if self.state else FREE
        return f"{short_date(self.day)} {self.unit_name} – {self.activity_name} : {now} ({self.who}{when})"


class StaleCells(RegieError):
    """The save touched cells someone else changed since they were loaded: nothing was written."""

    def __init__(self, clashes: list[Clash]) -> None:
        self.clashes = clashes
        lines = "\n".join(f"• {clash.text()}" for clash in clashes)
        super().__init__(f"Planning modifié depuis son ouverture, rien n'a été enregistré :\n{lines}")


@dataclass(frozen=True)
class Promotion:
    """A waiting child given the place a cancellation freed: the caller tells the family."""

    child_id: int
    child_name: str
    family_id: int
    booking_id: int
    day: date
    unit_id: int


@dataclass(frozen=True)
class CellCheck:
    day: date
    unit_id: int
    unit_name: str
    activity_name: str
    action: str
    allowed: bool  # can be applied as asked (possibly on the waiting list)
    waiting_list: bool  # a "book" beyond capacity: goes to the waiting list
    rule: str  # "" when allowed and not waiting; else the French rule
    places_left: int | None  # for that day × unit × the child's group; None: no capacity set
    notice_passed: bool
    promoted: Promotion | None = None  # apply_cells: who got the place this cancel freed
    state: BookingState | None = None  # the cell's state once applied (allowed), or as it is (refused)
    overrides: tuple[str, ...] = ()  # rules set aside by the agent (notice, lock), with their reason
    conflict: str = ""  # check_cells(each_alone=True): a rule of its day the stored booking breaks
    # Refused, but this agent may set the rule aside with a reason: "notice" (override_notice)
    # or "lock" (may_unlock); "" otherwise.
    overridable: str = ""


def notice_deadline(day: date, *, notice_days: int, notice_time: time, business_days: bool) -> datetime:
    """The last instant (Europe/Paris, excluded) to book or cancel ``day``."""
    deadline = day
    if business_days:
        remaining = notice_days
        while remaining > 0:
            deadline -= timedelta(days=1)
            if deadline.isoweekday() <= 5:
                remaining -= 1
    else:
        deadline -= timedelta(days=notice_days)
    return datetime.combine(deadline, notice_time, PARIS)


def notice_text(*, notice_days: int, notice_time: time, business_days: bool) -> str:
    """'la veille à 15:00', 'J-2 ouvrés à 12:00'…"""
    at = notice_time.strftime("%H:%M")
    if notice_days == 0:
        return f"le jour même à {at}"
    if notice_days == 1:
        return f"le jour ouvré précédent à {at}" if business_days else f"la veille à {at}"
    return f"J-{notice_days}{' ouvrés' if business_days else ''} à {at}"
