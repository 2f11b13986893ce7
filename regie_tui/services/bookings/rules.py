"""The booking rules: may this child have (or give up) this unit on this day, and applying it.

The one place for them: the planning grid, the roster, the bannette's portal booking requests and
``regie booking`` all call :func:`check_cells` and :func:`apply_cells`.

Rules, judged for each cell in this order (the first that fails gives the cell's French
``rule``):

- a known unit, asked once in the request;
- ``set`` of ``requested`` / ``refused``: refused, those are the portal's states, decided
  in the bannette; ``set`` of ``reserved`` is a ``book``;
- the opening calendar, for what puts the unit on the day (``book``, ``set`` waiting list,
  attendance on an unbooked cell): the activity's dates; a public holiday (DayOff
  ``public_holiday``) closes every activity; a school-holiday day (DayOff
  ``school_holiday``, bridges included) closes the *school-time* activities
  (périscolaire, cantine, mercredis: :data:`SCHOOL_TIME`) but not the accueils de loisirs
  nor the multi-accueil, which open precisely then; a Closure row of the activity; a
  period of the activity containing the day and opening on its week day
  (:class:`~.opening.OpeningCalendar`); then an ACCEPTED enrollment of the child in the unit's
  activity, whose own start / end dates (empty: the activity's) contain the day;
- a locked cell: attendance recorded on a past day or today, or a Charge produced from
  the booking (billed or about to be). Only an agent the role matrix lets unlock (régisseur,
  admin), with a ``reason``, changes it (audited); today's attendance may be corrected by anyone;
- attendance (``set`` present, présence spéciale, absences): no notice, no capacity, no
  combination rule (what happened is recorded); a presence not on a future day, and on an
  unbooked cell it is stored as présence spéciale; an absence needs a booking and may be
  announced ahead;
- ``cancel``: a booking to cancel (not one already refused);
- the notice deadline (délai de prévenance), judged at ``asked_at`` (default ``now``) in
  Europe/Paris, unless ``override_notice`` with a ``reason`` (audited);
- capacity per day × unit × age group of the child (the Capacity row of that day, else
  the default row; no row: unlimited). Places are held by the states in :data:`HOLDING`
  (reserved, attendance states and requested: a pending request must not overflow the
  group when accepted); waiting_list and refused hold none; they are read from
  ``place_count``, kept by database triggers (migration 0005). A ``book`` beyond capacity is
  allowed onto the waiting list (``waiting_list=True``);
- on the resulting day of the child (existing cells in :data:`ON_DAY` states — the
  waiting list included, as the family asked for them — plus the request's allowed
  ``book`` cells, minus its allowed ``cancel`` cells): unit combinations
  (``requires_one_of``, ``excludes``) and no two overlapping units of different
  activities. A failure refuses the request's cell that causes it (the ``book`` of the
  unit, or the ``cancel`` of its partners), until the day is consistent.

A ``book`` of a cell already reserved is allowed and changes nothing; a ``book`` of a
requested or waiting cell turns it into a reservation (or keeps it waiting). A ``cancel``
deletes the booking; when it held a place (a cancel, or a booked child put on the waiting
list) and the group has a capacity with a place now free, the first waiting child of that
day × unit × group (oldest ``changed_at``) is promoted to reserved in the same transaction
(:attr:`~.cells.CellCheck.promoted`) and the family told through the outbox.

Writing (:func:`apply_cells`) locks the child's row first, so two desks saving one child
queue up; with ``loaded`` stamps, a cell changed since the caller loaded it raises
:class:`~.cells.StaleCells` (who, when, what) and nothing is written.

Queries: a fixed handful per call (units, enrollments, periods, rules, calendar, the
child's bookings over the days asked, charges, capacities, place counts), whatever the
number of cells.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from regie_tui.formatting import short_date
from regie_tui.models import Agent, AuditEntry, Booking, BookingState, Child, Enrollment, Source
from regie_tui.services.bookings.cells import (
    FREE,
    FREE_STAMP,
    HOLDING,
    REASON_MAX,
    STATE_LABELS,
    CellCheck,
    CellRequest,
    CellStamp,
    Clash,
    Promotion,
    StaleCells,
)
from regie_tui.services.bookings.evaluation import Plan, evaluate
from regie_tui.services.bookings.judge import JudgedCell, Leeway
from regie_tui.services.common.sql import id_col, id_of, select_columns
from regie_tui.services.common.validation import check_text
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo


def check_cells(
    db: Session,
    *,
    child_id: int,
    cells: Sequence[CellRequest],
    now: datetime,
    override_notice: bool = False,
    asked_at: datetime | None = None,
    reason: str = "",
    agent: AgentInfo | None = None,
    each_alone: bool = False,
) -> list[CellCheck]:
    """What the rules say of each cell, in the request's order; writes nothing.

    ``asked_at``: when the family asked (a portal submission's time); the notice deadline
    is judged at it. Default ``now``. ``override_notice`` sets the notice deadline aside,
    and ``agent``, when the role matrix lets it unlock cells (régisseur, admin), a locked
    cell, only with a ``reason`` (no agent: the portal or the system, which unlock nothing).
    ``each_alone``: judge every cell as if asked on its own, the day as stored (the
    planning's view of each cell), and tell which stored bookings break a rule of their day.
    """
    leeway = Leeway(override_notice, _may_unlock(agent), reason)
    plan = evaluate(
        db,
        child_id=child_id,
        cells=cells,
        asked_at=asked_at or now,
        leeway=leeway,
        lock=False,
        each_alone=each_alone,
    )
    return [plan.check(cell) for cell in plan.cells]


def apply_cells(
    db: Session,
    *,
    child_id: int,
    cells: Sequence[CellRequest],
    agent_id: int | None,
    source: Source,
    now: datetime,
    override_notice: bool = False,
    asked_at: datetime | None = None,
    reason: str = "",
    agent: AgentInfo | None = None,
    loaded: Mapping[tuple[date, int], CellStamp] | None = None,
) -> list[CellCheck]:
    """Check again inside the caller's transaction and write the allowed cells; refused ones are left.

    ``loaded``: the cells as the caller's screen loaded them; if any of them changed
    since, :class:`StaleCells` is raised and nothing is written. Flushes, does not
    commit. Returns the checks, with the promoted waiting child of each freed place.
    """
    check_text(reason, "Motif", max_length=REASON_MAX, required=False)  # audited with the override
    leeway = Leeway(override_notice, _may_unlock(agent), reason)
    plan = evaluate(db, child_id=child_id, cells=cells, asked_at=asked_at or now, leeway=leeway, lock=True)
    if loaded:
        clashes = _clashes(db, plan, loaded)
        if clashes:
            raise StaleCells(clashes)
    write = _Write(plan, agent_id=agent_id, source=source, now=now)
    results = [write.cell(db, cell) for cell in plan.cells]
    db.flush()
    write.audit(db, reason=reason)
    db.flush()
    return results


def _may_unlock(agent: AgentInfo | None) -> bool:
    return agent is not None and agent.may(Permission.UNLOCK_CELL)


@dataclass
class _Write:
    """The writing of a plan's allowed cells, and what its audit entries will say."""

    plan: Plan
    agent_id: int | None
    source: Source
    now: datetime
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    promotions: list[tuple[Promotion, str]] = field(default_factory=list)

    def cell(self, db: Session, cell: JudgedCell) -> CellCheck:
        """Write one cell when allowed and changed; give a freed place to a waiting child."""
        plan, unit = self.plan, cell.unit
        if not cell.allowed or unit is None:
            return plan.check(cell)
        key = (cell.request.day, cell.request.unit_id)
        existing = plan.bookings.get(key)
        if existing is not None and existing.state == cell.target:
            return plan.check(cell)
        where = f"{short_date(cell.request.day)} {unit.name} – {unit.activity_name}"
        self.overrides.extend(f"{where} : {text}" for text in cell.overrides)
        self.before.append(f"{where} : {STATE_LABELS[existing.state] if existing else FREE}")
        self.after.append(f"{where} : {STATE_LABELS[cell.target] if cell.target else FREE}")
        held = existing is not None and existing.state in HOLDING
        self._store(db, cell, existing)
        promoted = None
        frees = held and cell.target not in HOLDING
        room = cell.places is not None and cell.others < cell.places
        if frees and room and key in plan.waiting and cell.group_id is not None:
            db.flush()
            promoted = _promote(
                db,
                day=cell.request.day,
                unit_id=cell.request.unit_id,
                group_id=cell.group_id,
                child_id=id_of(plan.child),
                agent_id=self.agent_id,
                now=self.now,
            )
            if promoted is not None:
                self.promotions.append((promoted, where))
                cell.others += 1  # the promoted child holds the place now
        return plan.check(cell, promoted)

    def _store(self, db: Session, cell: JudgedCell, existing: Booking | None) -> None:
        """The cell's booking deleted (freed), added or changed to the target state."""
        if cell.target is None:
            assert existing is not None
            db.delete(existing)
        elif existing is None:
            assert cell.unit is not None
            enrollment = self.plan.enrollments[cell.unit.activity_id]
            db.add(
                Booking(
                    child_id=id_of(self.plan.child),
                    day=cell.request.day,
                    unit_id=cell.unit.id,
                    enrollment_id=id_of(enrollment),
                    state=cell.target,
                    source=self.source,
                    changed_by_id=self.agent_id,
                    changed_at=self.now,
                )
            )
        else:
            existing.state = cell.target
            existing.source = self.source
            existing.changed_by_id = self.agent_id
            existing.changed_at = self.now
            existing.version += 1
            db.add(existing)

    def audit(self, db: Session, *, reason: str) -> None:
        """One entry for the child's cells (overrides and their reason included), one per promotion."""
        child = self.plan.child
        if self.before:
            name = f"{child.first_name} {child.last_name}"
            changed: dict[str, object] = {"child": name, "cells": self.after}
            if self.overrides:
                changed |= {"overrides": self.overrides, "reason": reason.strip()}
            audit.record(
                db,
                action="update",
                entity="booking",
                entity_id=id_of(child),
                source=self.source,
                agent_id=self.agent_id,
                family_id=child.family_id,
                before={"child": name, "cells": self.before},
                after=changed,
            )
        for promotion, where in self.promotions:
            _tell_promotion(db, promotion, where=where, agent_id=self.agent_id)
            audit.record(
                db,
                action="update",
                entity="booking",
                entity_id=promotion.child_id,
                source=Source.SYSTEM,
                agent_id=self.agent_id,
                family_id=promotion.family_id,
                before={
                    "child": promotion.child_name,
                    "cells": [f"{where} : {STATE_LABELS[BookingState.WAITING_LIST]}"],
                },
                after={"child": promotion.child_name, "cells": [f"{where} : {STATE_LABELS[BookingState.RESERVED]}"]},
            )


def _clashes(db: Session, plan: Plan, loaded: Mapping[tuple[date, int], CellStamp]) -> list[Clash]:
    """The request's cells whose booking is not the one the caller loaded."""
    changed: list[tuple[JudgedCell, Booking | None]] = []
    for cell in plan.cells:
        key = (cell.request.day, cell.request.unit_id)
        if key not in loaded:
            continue
        booking = plan.bookings.get(key)
        now = CellStamp(booking.id, booking.version) if booking is not None else FREE_STAMP
        if now != loaded[key]:
            changed.append((cell, booking))
    if not changed:
        return []
    agent_ids = {b.changed_by_id for _, b in changed if b is not None and b.changed_by_id is not None}
    names = {
        agent_id: name
        for agent_id, name in db.exec(
            select_columns(id_col(Agent.id), col(Agent.display_name)).where(col(Agent.id).in_(agent_ids))
        )
    }
    last_change = db.exec(
        select_columns(col(AuditEntry.at), col(Agent.display_name), col(AuditEntry.source))
        .outerjoin(Agent, col(Agent.id) == AuditEntry.agent_id)
        .where(AuditEntry.entity == "booking", AuditEntry.entity_id == id_of(plan.child))
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    ).first()
    clashes = []
    for cell, booking in changed:
        unit = cell.unit
        if booking is not None:
            who = names.get(booking.changed_by_id or 0) or _SOURCE_WHO.get(booking.source, booking.source)
            at: datetime | None = booking.changed_at
        elif last_change is not None:
            at, name, source = last_change
            who = name or _SOURCE_WHO.get(source, source)
        else:
            who, at = "inconnu", None
        clashes.append(
            Clash(
                day=cell.request.day,
                unit_name=unit.name if unit else "",
                activity_name=unit.activity_name if unit else "",
                state=booking.state if booking is not None else None,
                who=who,
                at=at,
            )
        )
    return clashes


_SOURCE_WHO = {Source.PORTAL: "portail famille", Source.SYSTEM: "système", Source.AGENT: "un agent"}


def _tell_promotion(db: Session, promotion: Promotion, *, where: str, agent_id: int | None) -> None:
    """The family of a promoted child learns it by mail (the outbox sends it)."""
    from regie_tui.services.portal.outbox import queue_mail

    day = short_date(promotion.day)
    queue_mail(
        db,
        family_id=promotion.family_id,
        subject=f"Place confirmée pour {promotion.child_name} le {day}",
        body=(
            f"Bonjour,\n\nUne place s'est libérée : la réservation de {promotion.child_name} "
            f"({where}) quitte la liste d'attente et est confirmée.\n"
        ),
        agent_id=agent_id,
    )


def _promote(
    db: Session, *, day: date, unit_id: int, group_id: int, child_id: int, agent_id: int | None, now: datetime
) -> Promotion | None:
    """Give the freed place to the first waiting child of that day × unit × group."""
    row = db.exec(
        select(Booking, Child)
        .join(Enrollment, col(Enrollment.id) == Booking.enrollment_id)
        .join(Child, col(Child.id) == Booking.child_id)
        .where(
            Booking.unit_id == unit_id,
            Booking.day == day,
            Booking.state == BookingState.WAITING_LIST,
            Booking.child_id != child_id,
            Enrollment.age_group_id == group_id,
        )
        .order_by(col(Booking.changed_at), col(Booking.id))
        .limit(1)
        .with_for_update(of=Booking)
    ).first()
    if row is None:
        return None
    booking, child = row
    booking.state = BookingState.RESERVED
    booking.changed_by_id = agent_id
    booking.changed_at = now
    booking.version += 1
    db.add(booking)
    return Promotion(
        child_id=id_of(child),
        child_name=f"{child.first_name} {child.last_name}",
        family_id=child.family_id,
        booking_id=id_of(booking),
        day=day,
        unit_id=unit_id,
    )


__all__ = ["apply_cells", "check_cells"]
