"""Editing a child's planning: every edit key builds cell requests, has the booking rules
judge them with every pending edit (:func:`regie_tui.services.bookings.planning.check_edits`,
in a worker) and keeps them only if allowed: a cell the rules refuse is refused at the key
press, with the rule (a notice or a lock may be overridden, with a reason). Keys typed while
an edit is judged wait their turn. Undo and redo; a week copied, pasted or repeated."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from regie_tui import clock, formatting, workers
from regie_tui.codes import BookingState, DayOffKind
from regie_tui.screens.dialogs import ConfirmScreen, TextPrompt
from regie_tui.screens.planning.edits import HELD, MAX_REFUSALS_SHOWN, Batch, Key, Wanted, plural, where
from regie_tui.screens.planning.grid import GridScreen
from regie_tui.services.bookings.cells import CellRequest
from regie_tui.services.bookings.opening import opening_calendar
from regie_tui.services.bookings.planning import View, check_edits, child_grid, period_of
from regie_tui.services.common.validation import InvalidValue, parse_date

if TYPE_CHECKING:
    from regie_tui.services.bookings.cells import CellCheck
    from regie_tui.services.bookings.planning import ChildGrid
    from regie_tui.workers import Db


class EditingScreen(GridScreen):
    """A child's planning with its edit keys; the edits wait in ``unsaved`` until saved."""

    def __init__(self, child_id: int, day: date | None = None) -> None:
        super().__init__(child_id, day)
        self.undo_stack: list[Batch] = []
        self.redo_stack: list[Batch] = []
        self.override_notice = False
        self.reason = ""
        self.clipboard: dict[tuple[int, int], bool] | None = None  # (weekday, unit) -> held
        self._busy = False  # an edit is being judged, or a save written: keys typed meanwhile wait in _queued
        self._queued: deque[Callable[[], object]] = deque()

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

    def _checking(self, edits: list[CellRequest]) -> Callable[[Db], list[CellCheck]] | None:
        """The rules' judgement of these pending edits, as a query for a worker (None: no agent)."""
        child_id, agent, now = self.child_id, self.desk.agent, clock.now()
        override, reason = self.override_notice, self.reason
        if agent is None:
            return None

        def query(db: Db) -> list[CellCheck]:
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
            self._status(f"Refusé : {where(broken[0])} ne serait plus possible ({broken[0].rule})", refused=True)
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
        self._status(f"{where(first)} : {first.rule}", refused=True)

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
            shown = " ; ".join(f"{where(c)} : {c.rule}" for c in refused[:MAX_REFUSALS_SHOWN])
            more = " ; …" if len(refused) > MAX_REFUSALS_SHOWN else ""
            parts.append(f"{plural(len(refused), 'refusée')} : {shown}{more}")
        if len(refused) == 1 and not allowed and not drops:
            self._status(f"Refusé — {where(refused[0])} : {refused[0].rule}", refused=True)
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

        def loaded(found: ChildGrid) -> None:
            self.known.update(found.cells)
            then()

        workers.read(
            self,
            lambda db: child_grid(db, child_id=child_id, first=first, last=last, now=now),
            loaded,
            group="planning-cells",
        )

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

        def query(db: Db) -> date:
            """The eve of the next school holidays (else four weeks on): the repeat's default end."""
            days_off = opening_calendar(db, activity_ids=[], first=last, last=last + timedelta(days=366)).days_off
            holidays = sorted(d for d, off in days_off.items() if off.kind == DayOffKind.SCHOOL_HOLIDAY and d > last)
            return holidays[0] - timedelta(days=1) if holidays else last + timedelta(weeks=4)

        workers.read(self, query, ask, group="planning-holidays")
