"""Enrollments: may this child join this activity in this age group, and enrolling it.

The bannette's enrollment requests and the desk both go through :func:`check_enrollment`
and :func:`enrol`.

- The child's age is taken on the enrollment's first day (its start date, else the
  activity's first day); a group fits when ``min_age <= age <= max_age`` (inclusive).
- Places of a group (:func:`group_places`): the largest default ``Capacity.places`` over
  the group's units (a child enrolled comes to some unit; day overrides are the
  booking rules' business), minus the accepted enrollments of other children in that group
  whose dates meet the period asked (an empty start or end is the activity's). No default
  capacity row: unlimited (``None``).
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.formatting import age_on, short_date
from regie_tui.labels import ENROLLMENT_STATUS, label
from regie_tui.models import Activity, AgeGroup, Capacity, Child, Enrollment, EnrollmentStatus, Source
from regie_tui.services.common.sql import id_of, select_columns
from regie_tui.services.trust import audit


@dataclass(frozen=True)
class GroupOption:
    id: int
    name: str
    min_age: int
    max_age: int
    age_fits: bool
    places_left: int | None  # None: no capacity set (unlimited)


@dataclass(frozen=True)
class EnrollmentCheck:
    child_name: str
    activity_name: str
    period: str  # "du 02/09/2026 au 03/07/2027"
    group: GroupOption
    first_day: date
    age_on_first_day: int
    groups: list[GroupOption]
    already: str | None  # French status of an existing enrollment of the child in the activity

    @property
    def full(self) -> bool:
        return self.group.places_left is not None and self.group.places_left <= 0


def group_places(
    db: Session, *, activity_id: int, start: date, end: date, exclude_child_id: int | None = None
) -> dict[int, int | None]:
    """Places left in each group of the activity over [start, end]: group id -> places (None: unlimited)."""
    activity = db.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"Activité introuvable (n° {activity_id}).")
    group_ids = list(db.exec(select(AgeGroup.id).where(AgeGroup.activity_id == activity_id)))
    capacities = dict(
        db.exec(
            select_columns(col(Capacity.age_group_id), func.max(Capacity.places))
            .where(col(Capacity.age_group_id).in_(group_ids), col(Capacity.day).is_(None))
            .group_by(col(Capacity.age_group_id))
        ).all()
    )
    conditions: list[ColumnElement[bool]] = [
        col(Enrollment.activity_id) == activity_id,
        col(Enrollment.status) == EnrollmentStatus.ACCEPTED,
        func.coalesce(Enrollment.start_date, activity.start_date) <= end,
        func.coalesce(Enrollment.end_date, activity.end_date) >= start,
    ]
    if exclude_child_id is not None:
        conditions.append(col(Enrollment.child_id) != exclude_child_id)
    taken: dict[int, int] = dict(
        db.exec(
            select_columns(col(Enrollment.age_group_id), func.count())
            .where(*conditions)
            .group_by(col(Enrollment.age_group_id))
        ).all()
    )
    places: dict[int, int | None] = {}
    for group_id in group_ids:
        assert group_id is not None
        usual = capacities.get(group_id)
        places[group_id] = None if usual is None else max(0, usual - taken.get(group_id, 0))
    return places


def check_enrollment(
    db: Session,
    *,
    child_id: int,
    activity_id: int,
    age_group_id: int,
    start_date: date | None,
    end_date: date | None,
) -> EnrollmentCheck:
    """What the desk needs to decide: the child's age, each group's fit and places, an existing enrollment.

    Raises a RegieError for what cannot be decided at all (unknown ids, a group of another
    activity, dates outside the activity); an unfitting age or a full group are reported.
    """
    child = db.get(Child, child_id)
    if child is None:
        raise NotFound(f"Enfant introuvable (n° {child_id}).")
    activity = db.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"Activité introuvable (n° {activity_id}).")
    first_day = start_date or activity.start_date
    last_day = end_date or activity.end_date
    span = f"du {short_date(activity.start_date)} au {short_date(activity.end_date)}"
    if not activity.start_date <= first_day <= activity.end_date:
        raise RegieError(f"Début d'inscription le {short_date(first_day)} : hors de {activity.name} ({span}).")
    if not activity.start_date <= last_day <= activity.end_date:
        raise RegieError(f"Fin d'inscription le {short_date(last_day)} : hors de {activity.name} ({span}).")
    if last_day < first_day:
        raise RegieError(f"La fin d'inscription ({short_date(last_day)}) précède son début ({short_date(first_day)}).")
    age = age_on(child.birth_date, first_day)
    places = group_places(db, activity_id=activity_id, start=first_day, end=last_day, exclude_child_id=child_id)
    groups = [
        GroupOption(
            id=id_of(group),
            name=group.name,
            min_age=group.min_age,
            max_age=group.max_age,
            age_fits=group.min_age <= age <= group.max_age,
            places_left=places.get(id_of(group)),
        )
        for group in db.exec(
            select(AgeGroup)
            .where(AgeGroup.activity_id == activity_id)
            .order_by(col(AgeGroup.position), col(AgeGroup.id))
        )
    ]
    chosen = next((g for g in groups if g.id == age_group_id), None)
    if chosen is None:
        raise RegieError(f"Le groupe n° {age_group_id} n'est pas un groupe de {activity.name}.")
    existing = _existing(db, child_id=child_id, activity_id=activity_id)
    return EnrollmentCheck(
        child_name=f"{child.first_name} {child.last_name}",
        activity_name=activity.name,
        period=f"du {short_date(first_day)} au {short_date(last_day)}",
        group=chosen,
        first_day=first_day,
        age_on_first_day=age,
        groups=groups,
        already=label(ENROLLMENT_STATUS, existing.status) if existing else None,
    )


def _existing(db: Session, *, child_id: int, activity_id: int, lock: bool = False) -> Enrollment | None:
    query = select(Enrollment).where(Enrollment.child_id == child_id, Enrollment.activity_id == activity_id)
    if lock:
        query = query.with_for_update()
    return db.exec(query).first()


def enrol(
    db: Session,
    *,
    child_id: int,
    activity_id: int,
    age_group_id: int,
    start_date: date | None,
    end_date: date | None,
    waiting_list: bool,
    agent_id: int | None,
    source: Source,
    now: datetime,
    requested_at: datetime | None = None,
) -> int:
    """Enrol the child (accepted, or waiting when the group is full and ``waiting_list``); the enrollment's id.

    Creates the enrollment, or decides an existing requested / waiting / refused one; ``requested_at``:
    when the family asked (a portal request's time), default ``now``. Flushes, does not commit.
    """
    check = _locked_check(
        db,
        child_id=child_id,
        activity_id=activity_id,
        age_group_id=age_group_id,
        start_date=start_date,
        end_date=end_date,
    )
    existing = _existing(db, child_id=child_id, activity_id=activity_id, lock=True)
    if existing is not None and existing.status == EnrollmentStatus.ACCEPTED:
        raise RegieError(f"{check.child_name} est déjà inscrit(e) à {check.activity_name} (inscription acceptée).")
    status, reason = _status(check, waiting_list=waiting_list)
    if existing is None:
        enrollment = Enrollment(
            child_id=child_id,
            activity_id=activity_id,
            age_group_id=age_group_id,
            start_date=start_date,
            end_date=end_date,
            status=status,
            source=source,
            requested_at=requested_at or now,
            decided_by_id=agent_id,
            decided_at=now,
            reason=reason,
        )
        before = None
    else:
        enrollment, before = existing, {"status": existing.status.value}
        enrollment.age_group_id = age_group_id
        enrollment.start_date = start_date
        enrollment.end_date = end_date
        enrollment.status = status
        enrollment.decided_by_id = agent_id
        enrollment.decided_at = now
        enrollment.reason = reason
        enrollment.version += 1
    db.add(enrollment)
    db.flush()
    _audit(db, enrollment, check, child_id=child_id, source=source, agent_id=agent_id, before=before)
    return id_of(enrollment)


def _locked_check(
    db: Session, *, child_id: int, activity_id: int, age_group_id: int, start_date: date | None, end_date: date | None
) -> EnrollmentCheck:
    """The check of the enrollment, its group locked first (places are counted then taken); the
    child's age on the first day must fit the group."""
    db.exec(select(AgeGroup).where(AgeGroup.id == age_group_id).with_for_update()).first()
    check = check_enrollment(
        db,
        child_id=child_id,
        activity_id=activity_id,
        age_group_id=age_group_id,
        start_date=start_date,
        end_date=end_date,
    )
    group = check.group
    if not group.age_fits:
        raise RegieError(
            f"{check.child_name} aura {check.age_on_first_day} ans le {short_date(check.first_day)} : "
            f"le groupe {group.name} accueille les enfants de {group.min_age} à {group.max_age} ans."
        )
    return check


def _audit(
    db: Session,
    enrollment: Enrollment,
    check: EnrollmentCheck,
    *,
    child_id: int,
    source: Source,
    agent_id: int | None,
    before: dict[str, str] | None,
) -> None:
    """The enrollment created (no ``before``) or decided again, in the family's history."""
    after = {
        "status": enrollment.status.value,
        "activity": check.activity_name,
        "child": check.child_name,
        "group": check.group.name,
    }
    child = db.get(Child, child_id)
    audit.record(
        db,
        action="create" if before is None else "decide",
        entity="enrollment",
        entity_id=id_of(enrollment),
        source=source,
        agent_id=agent_id,
        family_id=child.family_id if child else None,
        before=before,
        after=after,
    )
    db.flush()


def _status(check: EnrollmentCheck, *, waiting_list: bool) -> tuple[EnrollmentStatus, str]:
    """Accepted; or, the group being full, waiting (only when ``waiting_list``), with the reason."""
    if not check.full:
        return EnrollmentStatus.ACCEPTED, ""
    if not waiting_list:
        raise RegieError(
            f"Le groupe {check.group.name} de {check.activity_name} est complet {check.period} : "
            "inscription possible en liste d'attente seulement."
        )
    return EnrollmentStatus.WAITING, "Groupe complet : inscription en liste d'attente."
