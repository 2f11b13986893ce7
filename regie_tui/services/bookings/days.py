"""A child's day as a whole: unit combinations (``requires_one_of``, ``excludes``) and overlaps.

On the resulting day (stored cells in :data:`~.cells.ON_DAY` states, plus the request's
allowed ``book`` cells, minus its allowed ``cancel`` cells), a broken rule refuses the
request's cell that causes it, until the day is consistent (:func:`check_days`); with
``each_alone``, the stored bookings that break a rule of their day are told instead
(:func:`stored_conflicts`).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from regie_tui.models import Booking
from regie_tui.services.bookings.cells import ATTENDANCE, ON_DAY
from regie_tui.services.bookings.judge import JudgedCell, UnitTerms
from regie_tui.services.bookings.opening import WEEKDAYS


@dataclass
class Combinations:
    """The combination rules of the units asked: unit → the units one of which it needs; pairs excluded."""

    requires: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    excludes: list[tuple[int, int]] = field(default_factory=list)


def check_days(
    cells: list[JudgedCell],
    bookings: dict[tuple[date, int], Booking],
    units: dict[int, UnitTerms],
    rules: Combinations,
) -> None:
    """Refuse the cells that would leave a day of the child inconsistent, until none does."""
    by_day: dict[date, list[JudgedCell]] = defaultdict(list)
    for cell in cells:
        by_day[cell.request.day].append(cell)
    existing_by_day: dict[date, set[int]] = defaultdict(set)
    for (day, unit_id), booking in bookings.items():
        if booking.state in ON_DAY:
            existing_by_day[day].add(unit_id)
    for day, day_cells in by_day.items():
        weekday = WEEKDAYS[day.weekday()]
        while True:
            on_day, books, cancels = _day_after(existing_by_day[day], day_cells)
            refused = _first_violation(on_day, books, cancels, units, rules, weekday)
            if not refused:
                break
            for cell, rule in refused:
                cell.allowed, cell.waiting, cell.target, cell.rule = False, False, None, rule


def _day_after(
    stored: set[int], day_cells: list[JudgedCell]
) -> tuple[set[int], dict[int, JudgedCell], dict[int, JudgedCell]]:
    """The units of the day once its allowed cells are applied, and those cells: books, cancels."""
    on_day = set(stored)
    books: dict[int, JudgedCell] = {}
    cancels: dict[int, JudgedCell] = {}
    for cell in day_cells:
        if not cell.allowed:
            continue
        if cell.target in ON_DAY:
            on_day.add(cell.request.unit_id)
            if cell.target not in ATTENDANCE:  # what happened is recorded, whatever the day holds
                books[cell.request.unit_id] = cell
        else:
            on_day.discard(cell.request.unit_id)
            cancels[cell.request.unit_id] = cell
    return on_day, books, cancels


def stored_conflicts(
    cells: list[JudgedCell],
    bookings: dict[tuple[date, int], Booking],
    units: dict[int, UnitTerms],
    rules: Combinations,
) -> None:
    """Mark each asked cell whose stored booking breaks a rule of its day (data from before a rule)."""
    on_days: dict[date, set[int]] = defaultdict(set)
    for (day, unit_id), booking in bookings.items():
        if booking.state in ON_DAY and booking.state not in ATTENDANCE:
            on_days[day].add(unit_id)
    conflicts: dict[tuple[date, int], str] = {}
    for day, on_day in on_days.items():
        weekday = WEEKDAYS[day.weekday()]
        for found in _breaks(on_day, units, rules):
            for unit_id in (found.unit,) if found.kind == "requires" else (found.unit, *found.others):
                conflicts.setdefault((day, unit_id), found.rule(unit_id, units, weekday))
    for cell in cells:
        cell.conflict = conflicts.get((cell.request.day, cell.request.unit_id), "")


def _names(unit_ids: Iterable[int], units: dict[int, UnitTerms]) -> list[str]:
    known = sorted((units[u] for u in unit_ids if u in units), key=lambda u: (u.position, u.id))
    return [u.name for u in known]


@dataclass(frozen=True)
class _Break:
    """A rule a child's day breaks: ``unit`` lacks its partners (requires), or clashes with ``other``."""

    kind: Literal["requires", "excludes", "overlap"]
    unit: int
    others: tuple[int, ...]

    def rule(self, yielding: int, units: dict[int, UnitTerms], weekday: str) -> str:
        """The French rule, told from the side of the unit that yields."""
        if self.kind == "requires":
            return f"{units[self.unit].name} sans {' ni '.join(_names(self.others, units))} le {weekday}"
        other = units[self.others[0] if yielding == self.unit else self.unit]
        if self.kind == "excludes":
            return f"{units[yielding].name} impossible avec {other.name} le même jour"
        return f"Déjà inscrit sur {other.activity_name} – {other.name} à la même heure"


def _breaks(on_day: set[int], units: dict[int, UnitTerms], rules: Combinations) -> list[_Break]:
    """Every combination or overlap rule the units of one day break, in the order they are judged."""
    requires = rules.requires
    found = [
        _Break("requires", unit_id, tuple(sorted(requires[unit_id])))
        for unit_id in sorted(on_day)
        if requires.get(unit_id) and not on_day & requires[unit_id]
    ]
    found += [_Break("excludes", a, (b,)) for a, b in rules.excludes if a in on_day and b in on_day]
    ordered = sorted((units[u] for u in on_day if u in units), key=lambda u: (u.start, u.id))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.start >= a.end:
                break
            if a.activity_id != b.activity_id:
                found.append(_Break("overlap", a.id, (b.id,)))
    return found


def _first_violation(
    on_day: set[int],
    books: dict[int, JudgedCell],
    cancels: dict[int, JudgedCell],
    units: dict[int, UnitTerms],
    rules: Combinations,
    weekday: str,
) -> list[tuple[JudgedCell, str]]:
    """The cells to refuse for the first rule the day breaks because of the request; [] when none."""
    for found in _breaks(on_day, units, rules):
        if found.kind == "requires":
            rule = found.rule(found.unit, units, weekday)
            if found.unit in books:
                return [(books[found.unit], rule)]
            culprits = [cancels[p] for p in found.others if p in cancels]
            if culprits:
                return [(cell, rule) for cell in culprits]
            continue
        culprits = [books[u] for u in (found.unit, *found.others) if u in books]
        if culprits:
            cell = max(culprits, key=lambda c: c.index)  # the later cell yields
            return [(cell, found.rule(cell.request.unit_id, units, weekday))]
    return []
