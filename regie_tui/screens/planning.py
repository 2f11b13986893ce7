"""Planning: a child's reservation grid, edited at the keyboard and saved in one transaction.

Every edit key builds cell requests, has the booking rules judge them with every pending
edit (:func:`regie_tui.services.bookings.planning.check_edits`, in a worker) and keeps them only if
allowed: a cell the rules refuse is refused at the key press, with the rule. ctrl+s saves
them all; a cell changed by someone else since it was loaded refuses the save, tells who
and when, keeps the edits and reloads the fresh state to re-apply them on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, ClassVar
from weakref import WeakSet

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from regie_tui import clock, formatting, workers
from regie_tui.models import BookingState
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen, TextPrompt, ask_date
from regie_tui.services.bookings.planning import CLOSED_GLYPH, LEGEND, NEXT_VIEW, View, period_of, shift
from regie_tui.services.bookings.rules import STATE_LABELS, Action, CellRequest, StaleCells
from regie_tui.widgets.reservation_grid import PENDING_MARK, ReservationGrid

if TYPE_CHECKING:
    from sqlmodel import Session

    from regie_tui.services.bookings.planning import ChildGrid, GridCell
    from regie_tui.services.bookings.rules import CellCheck

Key = tuple[date, int]
Wanted = tuple[Key, Action, BookingState | None]  # a cell, what to do, the state wanted
#: States that hold the cell for the family (a booking to free with space, to copy or repeat).
HELD = frozenset({BookingState.RESERVED, BookingState.WAITING_LIST, BookingState.REQUESTED})
MAX_REFUSALS_SHOWN = 3


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def pending_text(count: int) -> str:
    if not count:
        return ""
    return f"° {count} à enregistrer (ctrl+s)"


def _where(check: CellCheck) -> str:
    return f"{formatting.short_date(check.day)} {check.unit_name}"


@dataclass
class _Batch:
    """The pending edits, one per cell in the order made, and each one's resulting state."""

    requests: dict[Key, CellRequest] = field(default_factory=dict)
    states: dict[Key, BookingState | None] = field(default_factory=dict)

    def copy(self) -> _Batch:
        return _Batch(dict(self.requests), dict(self.states))


class LegendScreen(ModalScreen[None]):
    """The 13 appearances of a cell: glyph and French label."""

    BINDINGS: ClassVar = [
        Binding("escape,l,question_mark,q", "dismiss", "Fermer", id="legend-close", tooltip="Fermer la légende"),
    ]
    DEFAULT_CSS = """
    LegendScreen { align: center middle; }
    LegendScreen #legend-box {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    LegendScreen #legend-title { text-style: bold; }
    LegendScreen #legend-hint { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        lines = [f" {entry.glyph}  {entry.label}" for entry in LEGEND]
        lines.append(f" ●{PENDING_MARK} Modification non enregistrée (soulignée)")
        with Vertical(id="legend-box"):
            yield Static("Légende du planning", id="legend-title")
            yield Static(escape("\n".join(lines)), id="legend-lines")
            yield Static("Échap : fermer", id="legend-hint")


class ChildPickerScreen(ModalScreen[int | None]):
    """F4: find a child by name as you type; Enter opens the first (or the highlighted) child's planning."""

    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Annuler", id="picker-cancel", tooltip="Fermer sans ouvrir de planning"),
        Binding("down", "to_list", "Liste", show=False, id="picker-list", tooltip="Descendre dans la liste"),
    ]
    DEFAULT_CSS = """
    ChildPickerScreen { align: center middle; }
    ChildPickerScreen #picker-box {
        width: 72; max-width: 100%; height: 20; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ChildPickerScreen #picker-options { height: 1fr; }
    ChildPickerScreen #picker-hint { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.found: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static("Planning d'un enfant : nom ou prénom", classes="dialog-title")
            yield Input(id="picker-input", placeholder="ex. : martin léa")
            yield OptionList(id="picker-options")
            yield Static("Entrée : ouvrir le planning · ↓ : la liste · Échap : annuler", id="picker-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _search(self, event: Input.Changed) -> None:
        text = event.value.strip()
        options = self.query_one(OptionList)
        if not text:
            self.found = []
            options.clear_options()
            return

        def query(db: Session) -> list[tuple[int, str]]:
            from regie_tui.services.bookings.planning import find_children

            return [
                (
                    c.child_id,
                    f"{c.last_name} {c.first_name} — né(e) le {formatting.short_date(c.birth_date)}"
                    f" — famille {c.family_name}",
                )
                for c in find_children(db, text)
            ]

        workers.read(self, query, self._show, group="picker")

    def _show(self, found: list[tuple[int, str]]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        self.found = [child_id for child_id, _ in found]
        if not found:
            options.add_option(Option("Aucun enfant trouvé.", disabled=True))
            return
        options.add_options([Option(escape(label), id=str(child_id)) for child_id, label in found])
        options.highlighted = 0

    @on(Input.Submitted)
    def _submitted(self, _event: Input.Submitted) -> None:
        if self.found:
            self.dismiss(self.found[0])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(int(event.option.id))

    def action_to_list(self) -> None:
        if self.found:
            self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


def unsaved_plannings() -> list[PlanningScreen]:
    """The open plannings (in any mode's stack) holding changes not saved yet: quitting asks first."""
    return [screen for screen in _OPEN if screen.unsaved.requests]


class PlanningScreen(RegieScreen):
    """A child's planning; the grid has the focus, every key below edits the pending set."""

    HELP_TITLE = "Planning"
    BINDINGS: ClassVar = [
        Binding(
            "space",
            "book_or_free",
            "Réserver/libérer",
            id="planning-toggle",
            tooltip="Réserver ou libérer la sélection",
            key_display="espace",
        ),
        Binding("p", "set('present')", "Présent", show=False, id="planning-present", tooltip="Pointer présent"),
        Binding(
            "s",
            "set('present_special')",
            "Prés. spéciale",
            show=False,
            id="planning-special",
            tooltip="Présence spéciale (venu sans réservation)",
        ),
        Binding("j", "set('absent_justified')", "Abs. justifiée", show=False, id="planning-justified"),
        Binding("n", "set('absent_unjustified')", "Abs. non justifiée", show=False, id="planning-unjustified"),
        Binding("w", "set('waiting_list')", "Liste d'attente", show=False, id="planning-waiting"),
        Binding(
            "r",
            "repeat",
            "Répéter",
            show=False,
            id="planning-repeat",
            tooltip="Répéter la semaine des lignes sélectionnées chaque semaine jusqu'à une date",
        ),
        Binding("c", "copy_week", "Copier sem.", show=False, id="planning-copy", tooltip="Copier la semaine"),
        Binding("x", "paste_week", "Coller sem.", show=False, id="planning-paste", tooltip="Coller sur cette semaine"),
        Binding(
            "ctrl+z", "undo", "Annuler", show=False, id="planning-undo", tooltip="Annuler la dernière modification"
        ),
        Binding("ctrl+y", "redo", "Rétablir", show=False, id="planning-redo", tooltip="Rétablir la modification"),
        Binding("ctrl+s", "save", "Enregistrer", id="planning-save", tooltip="Enregistrer toutes les modifications"),
        Binding("v", "cycle_view", "Vue", id="planning-view", tooltip="Semaine → Mois → Jour"),
        Binding("pageup", "period(-1)", "Période préc.", show=False, id="planning-previous", key_display="pg préc"),
        Binding("pagedown", "period(1)", "Période suiv.", show=False, id="planning-next", key_display="pg suiv"),
        Binding("t", "today", "Aujourd'hui", show=False, id="planning-today", tooltip="Aller à aujourd'hui"),
        Binding("g", "go_to", "Aller au…", show=False, id="planning-go", tooltip="Aller à une date (JJ/MM/AAAA)"),
        Binding("l,question_mark", "legend", "Légende", id="planning-legend", tooltip="Les 13 aspects d'une cellule"),
        Binding("ctrl+r", "reload", "Relire", show=False, id="planning-reload", tooltip="Relire le planning"),
        Binding("escape", "back", "Retour", id="planning-back", tooltip="Quitter le planning", key_display="échap"),
        Binding("q", "quit_app", "Quitter", show=False, id="planning-quit", tooltip="Quitter regie-tui"),
    ]
    DEFAULT_CSS = """
    #planning-head { height: 1; padding: 0 1; }
    #planning-title { width: 1fr; text-style: bold; }
    #planning-count { width: auto; color: $warning; text-style: bold; }
    #planning-status { height: 2; padding: 0 1; color: $text-muted; }
    #planning-status.-refused { color: $error; }
    """

    def __init__(self, child_id: int, day: date | None = None) -> None:
        super().__init__()
        self.child_id = child_id
        self.day = day
        self.view = View.WEEK
        self.grid: ChildGrid | None = None
        self.known: dict[Key, GridCell] = {}  # every cell loaded so far (stamps for the save)
        self.unsaved = _Batch()
        self.undo_stack: list[_Batch] = []
        self.redo_stack: list[_Batch] = []
        self.override_notice = False
        self.reason = ""
        self.clipboard: dict[tuple[int, int], bool] | None = None  # (weekday, unit) -> held
        self.message = ""
        self._busy = False  # an edit is being judged, or a save written: keys typed meanwhile wait in _queued
        self._queued: deque[Callable[[], object]] = deque()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="planning-head"):
            yield Static("", id="planning-title")
            yield Static("", id="planning-count")
        yield ReservationGrid(id="planning-grid")
        yield Static("Chargement…", id="planning-status")
        yield Footer()

    def on_unmount(self) -> None:
        _OPEN.discard(self)

    def title_text(self) -> str:
        """Whose planning this is: the child's name once loaded."""
        return f"planning de {self.grid.child_name}" if self.grid else f"planning de l'enfant n° {self.child_id}"

    @property
    def grid_widget(self) -> ReservationGrid:
        return self.query_one("#planning-grid", ReservationGrid)

    def on_mount(self) -> None:
        _OPEN.add(self)
        self.sub_title = "Planning"
        if self.day is None:
            self.day = self.regie.today
        self.grid_widget.focus()
        self.refresh_grid()

    # ---------------------------------------------------------------- reading

    def refresh_grid(self, then: Callable[[], None] | None = None) -> None:
        day, view, child_id, now = self.day or self.regie.today, self.view, self.child_id, clock.now()
        first, last = period_of(view, day)

        def query(db: Session) -> ChildGrid:
            from regie_tui.services.bookings.planning import child_grid

            return child_grid(db, child_id=child_id, first=first, last=last, now=now)

        def show(grid: ChildGrid) -> None:
            self._show(grid)
            if then is not None:
                then()

        self.load(query, show)

    def _show(self, grid: ChildGrid) -> None:
        widget = self.grid_widget
        unit = widget.cursor_unit
        self.grid = grid
        self.known.update(grid.cells)
        widget.show(grid, self.view, today=self.regie.today, pending=self.unsaved.states, day=self.day, unit_id=unit)
        period = self._period_text(grid)
        self.query_one("#planning-title", Static).update(escape(f"{grid.child_name} · {period}"))
        self.sub_title = f"Planning — {grid.child_name} (famille {grid.family_name})"
        self._show_count()
        if not grid.rows:
            self._status("Aucune inscription acceptée sur cette période.")

    def _period_text(self, grid: ChildGrid) -> str:
        if self.view == View.DAY:
            return formatting.long_date(grid.first)
        if self.view == View.MONTH:
            return f"{formatting.long_date(grid.first).split(' ', 2)[2]}"
        return f"semaine du {grid.first:%d/%m} au {formatting.short_date(grid.last)}"

    def _show_count(self) -> None:
        self.query_one("#planning-count", Static).update(pending_text(len(self.unsaved.requests)))
        self.grid_widget.set_pending(self.unsaved.states)

    def _status(self, text: str, *, refused: bool = False) -> None:
        status = self.query_one("#planning-status", Static)
        status.update(escape(text))
        status.set_class(refused, "-refused")
        self.message = text

    @on(ReservationGrid.CursorMoved)
    def _cursor_moved(self, event: ReservationGrid.CursorMoved) -> None:
        if event.day is not None:
            self.day = event.day
        self._explain()

    def _explain(self) -> None:
        grid, day, unit_id = self.grid, self.grid_widget.cursor_day, self.grid_widget.cursor_unit
        if grid is None or day is None or unit_id is None:
            return
        row = next(r for r in grid.rows if r.unit_id == unit_id)
        where = f"{formatting.short_date(day)} {row.unit_name} : "
        key = (day, unit_id)
        cell = grid.cells.get(key)
        if key in self.unsaved.states:
            state = self.unsaved.states[key]
            now = STATE_LABELS[state] if state else "libre"
            was = STATE_LABELS[cell.state] if cell and cell.state else "libre"
            self._status(f"{where}{now}, non enregistré (était : {was})")
        elif cell is not None:
            self._status(where + cell.explanation)

    @on(ReservationGrid.EdgeReached)
    def _edge(self, event: ReservationGrid.EdgeReached) -> None:
        day = self.grid_widget.cursor_day or self.day or self.regie.today
        if self.grid is not None and self.day is not None and self.day not in self.grid.days:
            day = self.day  # the next period is still loading: keep counting the keys from where they lead
        self._go_to(day + timedelta(days=event.direction))

    # ------------------------------------------------------------ moving around

    def _go_to(self, day: date) -> None:
        self.day = day
        self.refresh_grid()

    def action_period(self, steps: int) -> None:
        self._go_to(shift(self.view, self.day or self.regie.today, steps))

    def action_cycle_view(self) -> None:
        self.view = NEXT_VIEW[self.view]
        self.refresh_grid()

    def action_today(self) -> None:
        self._go_to(self.regie.today)

    def action_go_to(self) -> None:
        refused = partial(self._status, refused=True)
        ask_date(self.app, "Aller au (JJ/MM/AAAA)", self.day, self._go_to, refused)

    def action_legend(self) -> None:
        self.app.push_screen(LegendScreen())

    def action_reload(self) -> None:
        self.refresh_grid()

    # ---------------------------------------------------------------- editing

    def _effective(self, key: Key) -> BookingState | None:
        if key in self.unsaved.states:
            return self.unsaved.states[key]
        cell = self.known.get(key)
        return cell.state if cell else None

    def _closed_day(self, key: Key) -> bool:
        cell = self.known.get(key)
        return cell is not None and cell.state is None and cell.glyph == CLOSED_GLYPH

    def _stored(self, key: Key) -> BookingState | None:
        cell = self.known.get(key)
        return cell.state if cell else None

    def _when_idle(self, step: Callable[[], object]) -> None:
        """Run a key's step now, or once the edit being judged is done: keys typed ahead all count, in order."""
        if self._busy:
            self._queued.append(step)
        else:
            step()

    def _idle(self) -> None:
        self._busy = False
        if self._queued:
            self._queued.popleft()()

    def action_book_or_free(self) -> None:
        keys = self.grid_widget.selected()  # the cells under the cursor when the key was pressed
        self._when_idle(lambda: self._book_or_free(keys))

    def _book_or_free(self, keys: list[Key]) -> None:
        if len(keys) > 1:  # a range: its closed days are left out, they can be neither booked nor freed
            keys = [k for k in keys if not self._closed_day(k)] or keys
        if not keys:
            return
        held = [k for k in keys if self._effective(k) is not None]
        if held and len(held) == len(keys):
            self._edit([(k, "cancel", None) for k in keys if self._effective(k) in HELD] or [(keys[0], "cancel", None)])
        else:
            self._edit([(k, "book", BookingState.RESERVED) for k in keys if self._effective(k) is None])

    def action_set(self, state_name: str) -> None:
        state = BookingState(state_name)
        keys = self.grid_widget.selected()
        self._when_idle(lambda: self._edit([(k, "set", state) for k in keys]))

    def _edit(self, wanted: Sequence[Wanted], *, quiet_closed: bool = False) -> None:
        """Judge ``wanted`` (cell, action, target) with the pending edits; keep the allowed ones."""
        if self._busy:
            self._queued.append(lambda: self._edit(wanted, quiet_closed=quiet_closed))
            return
        if self.grid is None:
            return
        if quiet_closed:
            wanted = [w for w in wanted if not (self.known.get(w[0]) and self.known[w[0]].glyph == "-")]
        drops: list[Key] = []
        new: list[CellRequest] = []
        for key, action, target in wanted:
            stored = self._stored(key)
            if key in self.unsaved.requests and (target if action != "cancel" else None) == stored:
                drops.append(key)  # back to what is stored: the pending edit goes
                continue
            state = target if action == "set" else None
            new.append(CellRequest(day=key[0], unit_id=key[1], action=action, state=state))
        if not new and not drops:
            self._status("Rien à modifier ici.")
            return
        if not new:
            self._commit(drops, [], [])
            return
        asked = {(r.day, r.unit_id) for r in new}
        kept = [r for k, r in self.unsaved.requests.items() if k not in asked and k not in drops]
        query = self._checking(kept + new)
        if query is None:
            return

        def judged(checks: list[CellCheck]) -> None:
            self._judged(wanted, drops, kept, new, checks, quiet_closed=quiet_closed)
            self._idle()

        def failed(message: str) -> None:
            self._status(message, refused=True)
            self._idle()

        self._busy = True
        workers.read(self, query, judged, group="planning-check", on_error=failed)

    def _checking(self, edits: list[CellRequest]) -> Callable[[Session], list[CellCheck]] | None:
        """The rules' judgement of these pending edits, as a query for a worker (None: no agent)."""
        child_id, agent, now = self.child_id, self.regie.agent, clock.now()
        override, reason = self.override_notice, self.reason
        if agent is None:
            return None

        def query(db: Session) -> list[CellCheck]:
            from regie_tui.services.bookings.planning import check_edits

            return check_edits(
                db, child_id=child_id, edits=edits, agent=agent, now=now, override_notice=override, reason=reason
            )

        return query

    def _judged(
        self,
        wanted: Sequence[Wanted],
        drops: list[Key],
        kept: list[CellRequest],
        new: list[CellRequest],
        checks: list[CellCheck],
        *,
        quiet_closed: bool,
    ) -> None:
        old_checks, new_checks = checks[: len(kept)], checks[len(kept) :]
        broken = [c for c in old_checks if not c.allowed]
        if broken:
            self._status(f"Refusé : {_where(broken[0])} ne serait plus possible ({broken[0].rule})", refused=True)
            return
        refused = [c for c in new_checks if not c.allowed]
        if refused and self._offer_override(refused, wanted, quiet_closed=quiet_closed):
            return
        allowed = [(r, c) for r, c in zip(new, new_checks, strict=True) if c.allowed]
        self._commit(drops, allowed, refused)

    def _offer_override(self, refused: list[CellCheck], wanted: Sequence[Wanted], *, quiet_closed: bool) -> bool:
        """A notice deadline, or a lock for a régisseur: ask (and a reason), then judge again."""
        notice = all(c.overridable == "notice" for c in refused)
        locked = all(c.overridable == "lock" for c in refused)
        if not (notice or locked):
            return False
        first = refused[0]
        self._status(f"{_where(first)} : {first.rule}", refused=True)

        def reason_given(text: str | None) -> None:
            if not text or not text.strip():
                self._status("Rien n'a été modifié : un motif est obligatoire.", refused=True)
                return
            self.reason = text.strip()
            self.override_notice = self.override_notice or notice
            self._edit(wanted, quiet_closed=quiet_closed)

        def ask_reason(confirmed: bool | None = True) -> None:
            if confirmed:
                self.app.push_screen(TextPrompt(f"{first.rule}. Motif :", self.reason), reason_given)
            else:
                self._status("Rien n'a été modifié.")

        if notice:
            count = plural(len(refused), "cellule")
            self.app.push_screen(
                ConfirmScreen(f"{first.rule} ({count}). Passer outre, avec un motif ?", confirm="Passer outre"),
                ask_reason,
            )
        else:
            ask_reason()
        return True

    def _commit(self, drops: list[Key], allowed: list[tuple[CellRequest, CellCheck]], refused: list[CellCheck]) -> None:
        if drops or allowed:
            self.undo_stack.append(self.unsaved.copy())
            self.redo_stack.clear()
            for key in drops:
                self.unsaved.requests.pop(key, None)
                self.unsaved.states.pop(key, None)
            for request, check in allowed:
                key = (request.day, request.unit_id)
                self.unsaved.requests.pop(key, None)  # a later edit of a cell replaces the earlier one, last
                self.unsaved.states.pop(key, None)
                self.unsaved.requests[key] = request
                self.unsaved.states[key] = check.state if request.action != "cancel" else None
            self._show_count()
        waiting = [c for c in (c for _, c in allowed) if c.waiting_list]
        parts = []
        if allowed or drops:
            parts.append(
                f"{plural(len(allowed) + len(drops), 'cellule')} modifiée{'s' if len(allowed) + len(drops) > 1 else ''}"
            )
        if waiting:
            parts.append(f"{plural(len(waiting), 'cellule')} en liste d'attente (capacité atteinte)")
        if refused:
            shown = " ; ".join(f"{_where(c)} : {c.rule}" for c in refused[:MAX_REFUSALS_SHOWN])
            more = " ; …" if len(refused) > MAX_REFUSALS_SHOWN else ""
            parts.append(f"{plural(len(refused), 'refusée')} : {shown}{more}")
        if len(refused) == 1 and not allowed and not drops:
            self._status(f"Refusé — {_where(refused[0])} : {refused[0].rule}", refused=True)
            return
        self._status(" · ".join(parts), refused=bool(refused))

    def action_undo(self) -> None:
        if not self.undo_stack:
            self._status("Rien à annuler.")
            return
        self.redo_stack.append(self.unsaved)
        self.unsaved = self.undo_stack.pop()
        self._show_count()
        self._status("Modification annulée.")

    def action_redo(self) -> None:
        if not self.redo_stack:
            self._status("Rien à rétablir.")
            return
        self.undo_stack.append(self.unsaved)
        self.unsaved = self.redo_stack.pop()
        self._show_count()
        self._status("Modification rétablie.")

    # ------------------------------------------------------- week patterns

    def _week_of(self, day: date) -> tuple[date, date]:
        return period_of(View.WEEK, day)

    def _with_cells(self, first: date, last: date, then: Callable[[], None]) -> None:
        """Make sure every cell from ``first`` to ``last`` is known (loaded once), then ``then()``."""
        grid = self.grid
        if grid is None:
            return
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        if all((d, r.unit_id) in self.known for d in days for r in grid.rows):
            then()
            return
        child_id, now = self.child_id, clock.now()

        def query(db: Session) -> ChildGrid:
            from regie_tui.services.bookings.planning import child_grid

            return child_grid(db, child_id=child_id, first=first, last=last, now=now)

        def loaded(found: ChildGrid) -> None:
            self.known.update(found.cells)
            then()

        workers.read(self, query, loaded, group="planning-cells")

    def _pattern(self, first: date, units: Sequence[int], *, every_free: bool) -> dict[tuple[int, int], bool]:
        """(weekday, unit) -> held, over the week from ``first``; a free cell counts when
        ``every_free`` (a copied week), else only when freed by a pending edit (a repeat)."""
        pattern = {}
        for offset in range(7):
            for unit in units:
                key = (first + timedelta(days=offset), unit)
                held = self._effective(key) is not None
                if (
                    held
                    or every_free
                    or (key in self.unsaved.requests and self.unsaved.requests[key].action == "cancel")
                ):
                    pattern[(offset, unit)] = held
        return pattern

    def _paste(self, pattern: dict[tuple[int, int], bool], mondays: Sequence[date], until: date | None) -> None:
        wanted: list[Wanted] = []
        for monday in mondays:
            for (offset, unit), held in pattern.items():
                day = monday + timedelta(days=offset)
                if until is not None and day > until:
                    continue
                key = (day, unit)
                if key not in self.known:
                    continue
                now = self._effective(key)
                if held and now is None:
                    wanted.append((key, "book", BookingState.RESERVED))
                elif not held and now in HELD:
                    wanted.append((key, "cancel", None))
        if not wanted:
            self._status("Rien à modifier : ces semaines suivent déjà ce modèle.")
            return
        self._edit(wanted, quiet_closed=True)

    def action_copy_week(self) -> None:
        grid, day = self.grid, self.grid_widget.cursor_day
        if grid is None or day is None:
            return
        first, last = self._week_of(day)
        units = [r.unit_id for r in grid.rows]

        def copy() -> None:
            self.clipboard = self._pattern(first, units, every_free=True)
            booked = sum(self.clipboard.values())
            self._status(
                f"Semaine du {formatting.short_date(first)} copiée ({plural(booked, 'cellule')} réservée"
                f"{'s' if booked > 1 else ''}) : x pour la coller sur une autre semaine."
            )

        self._with_cells(first, last, copy)

    def action_paste_week(self) -> None:
        day = self.grid_widget.cursor_day
        if day is None:
            return
        if self.clipboard is None:
            self._status("Aucune semaine copiée (c copie la semaine sous le curseur).")
            return
        pattern = self.clipboard
        first, last = self._week_of(day)
        self._with_cells(first, last, lambda: self._paste(pattern, [first], None))

    def action_repeat(self) -> None:
        grid, day = self.grid, self.grid_widget.cursor_day
        if grid is None or day is None:
            return
        units = self.grid_widget.selected_units()
        first, last = self._week_of(day)
        names = ", ".join(r.unit_name for r in grid.rows if r.unit_id in units)

        def typed(text: str | None) -> None:
            if not text:
                return
            from regie_tui.services.common.validation import InvalidValue, parse_date

            try:
                until = parse_date(text, "Date")
            except InvalidValue as error:
                self._status(error.message, refused=True)
                return
            if until <= last:
                self._status("La date doit être après la semaine à répéter.", refused=True)
                return
            mondays = [first + timedelta(weeks=n) for n in range(1, (until - first).days // 7 + 1)]
            self._with_cells(
                first,
                until,
                lambda: self._paste(self._pattern(first, units, every_free=False), mondays, until),
            )

        def ask(default: date) -> None:
            title = f"Répéter la semaine du {formatting.short_date(first)} ({names}) chaque semaine jusqu'au"
            self.app.push_screen(TextPrompt(title + " (JJ/MM/AAAA)", formatting.short_date(default)), typed)

        def query(db: Session) -> date:
            from regie_tui.models import DayOffKind
            from regie_tui.services.bookings.rules import opening_calendar

            days_off = opening_calendar(db, activity_ids=[], first=last, last=last + timedelta(days=366)).days_off
            holidays = sorted(d for d, off in days_off.items() if off.kind == DayOffKind.SCHOOL_HOLIDAY and d > last)
            return holidays[0] - timedelta(days=1) if holidays else last + timedelta(weeks=4)

        workers.read(self, query, ask, group="planning-holidays")

    # ---------------------------------------------------------------- saving

    def action_save(self) -> None:
        self._when_idle(self._save)

    def _save(self) -> None:
        if not self.unsaved.requests:
            self._status("Aucune modification à enregistrer.")
            return
        agent, child_id, now = self.regie.agent, self.child_id, clock.now()
        if agent is None:
            return
        edits = list(self.unsaved.requests.values())
        loaded = {key: self.known[key].stamp for key in self.unsaved.requests if key in self.known}
        override, reason = self.override_notice, self.reason

        def action(db: Session) -> list[CellCheck] | StaleCells:
            from regie_tui.services.bookings.planning import save_edits

            try:
                return save_edits(
                    db,
                    child_id=child_id,
                    edits=edits,
                    loaded=loaded,
                    agent=agent,
                    now=now,
                    override_notice=override,
                    reason=reason,
                )
            except StaleCells as stale:
                return stale  # nothing was written

        def failed(message: str) -> None:
            self._status(f"Rien n'a été enregistré : {message}", refused=True)
            self._idle()

        self._busy = True
        self._status("Enregistrement…")
        workers.write(self, action, self._saved, on_error=failed, group="planning-save")

    def _saved(self, result: list[CellCheck] | StaleCells) -> None:
        if isinstance(result, StaleCells):
            self._busy = False
            self._queued.clear()  # keys typed after a refused save are not applied blindly
            self._stale(result)
            return
        changed = [c for c in result if c.allowed]
        refused = [c for c in result if not c.allowed]
        waiting = [c for c in changed if c.waiting_list]
        promoted = [c.promoted for c in changed if c.promoted is not None]
        parts = [f"{plural(len(changed), 'cellule')} enregistrée{'s' if len(changed) > 1 else ''}"]
        if waiting:
            parts.append(f"{plural(len(waiting), 'en liste', 'en liste')} d'attente")
        if promoted:
            names = ", ".join(p.child_name for p in promoted)
            parts.append(f"place libérée donnée à {names} (liste d'attente, famille prévenue)")
        if refused:
            parts.append(
                f"{plural(len(refused), 'refusée')} : "
                + " ; ".join(f"{_where(c)} : {c.rule}" for c in refused[:MAX_REFUSALS_SHOWN])
            )
        self.unsaved = _Batch()
        self.undo_stack.clear()
        self.redo_stack.clear()
        self.override_notice, self.reason = False, ""
        message = " · ".join(parts)

        def reloaded() -> None:
            self._status(message, refused=bool(refused))
            self._idle()  # keys typed after ctrl+s apply to the grid as saved

        self.refresh_grid(then=reloaded)

    def _stale(self, stale: StaleCells) -> None:
        """Keep the edits, read the fresh state of their cells, judge them on it again."""
        report = str(stale)
        self.notify(report, title="Planning modifié par ailleurs", severity="error", timeout=15)
        keys = list(self.unsaved.requests)
        first, last = min(k[0] for k in keys), max(k[0] for k in keys)
        child_id, now = self.child_id, clock.now()

        def query(db: Session) -> ChildGrid:
            from regie_tui.services.bookings.planning import child_grid

            return child_grid(db, child_id=child_id, first=first, last=last, now=now)

        def fresh(found: ChildGrid) -> None:
            self.known.update(found.cells)
            self.refresh_grid(then=lambda: self._recheck(report))

        workers.read(self, query, fresh, group="planning-cells")

    def _recheck(self, report: str) -> None:
        """Judge the kept edits on the fresh state; drop those now refused, with their rules."""
        requests = list(self.unsaved.requests.values())
        query = self._checking(requests)
        if query is None:
            return

        def judged(checks: list[CellCheck]) -> None:
            dropped = [c for c in checks if not c.allowed]
            for check in dropped:
                key = (check.day, check.unit_id)
                self.unsaved.requests.pop(key, None)
                self.unsaved.states.pop(key, None)
            for request, check in zip(requests, checks, strict=True):
                key = (request.day, request.unit_id)
                if check.allowed and key in self.unsaved.states and request.action != "cancel":
                    self.unsaved.states[key] = check.state
            self._show_count()
            lines = report.splitlines()
            text = f"{lines[0]} {' '.join(lines[1:])}"
            if dropped:
                text += " — retirées : " + " ; ".join(f"{_where(c)} : {c.rule}" for c in dropped)
            text += " — ctrl+s pour enregistrer sur l'état à jour."
            self._status(text, refused=True)

        workers.read(self, query, judged, group="planning-recheck")

    # ---------------------------------------------------------------- leaving

    def _leave(self, then: Callable[[], object]) -> None:
        count = len(self.unsaved.requests)
        if not count:
            then()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                then()

        changes = f"{count} modification{'s' if count > 1 else ''} non enregistrée{'s' if count > 1 else ''}"
        question = f"{changes} : elles seront perdues. Quitter le planning quand même ?"
        self.app.push_screen(ConfirmScreen(question, confirm="Quitter sans enregistrer"), answered)

    def action_back(self) -> None:
        self._leave(self.app.pop_screen)

    def action_quit_app(self) -> None:
        self._leave(self.app.exit)


_OPEN: WeakSet[PlanningScreen] = WeakSet()
