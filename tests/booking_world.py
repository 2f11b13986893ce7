"""A hand-built world for the booking rules and the planning: three activities, rules, capacities.

Children: Léa, Tom, Zoé, Hugo (maternelle, enrolled everywhere), Noé (élémentaire), Ivy (no
enrolment), Paul (waiting enrolment), Jade (enrolled from 2027). Import with
``from booking_world import World, build, NOW, WED``.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypedDict, Unpack

from sqlmodel import Session, select

from regie_tui.clock import PARIS
from regie_tui.models import (
    Activity,
    ActivityKind,
    ActivityPeriod,
    AgeGroup,
    Agent,
    Capacity,
    Child,
    Closure,
    DayOff,
    DayOffKind,
    Enrollment,
    EnrollmentStatus,
    Facility,
    FacilityKind,
    Role,
    Source,
    Unit,
    UnitRule,
    UnitRuleKind,
)
from regie_tui.services.common.sql import id_col

from builders import add_family, add_regie

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)  # Monday
WED = date(2026, 12, 9)  # a plain Wednesday, far from any notice deadline
OVERRIDE_WED = date(2026, 12, 2)  # a Wednesday with one place only (sortie)


@dataclass
class World:
    agent: int
    mercredi: int
    peri: int
    stage: int
    matin: int
    repas: int
    apres_midi: int
    journee: int
    acc_soir: int
    atelier: int
    mater: int
    elem: int
    # children: Léa, Tom, Zoé, Hugo (maternelle, enrolled everywhere), Noé (élémentaire),
    # Ivy (no enrollment), Paul (waiting enrollment), Jade (enrolled from 2027)
    kids: dict[str, int]


class Notice(TypedDict, total=False):
    """An activity's notice deadline, where it is not the default one."""

    notice_days: int
    notice_time: time
    notice_business_days: bool


def _activity(db: Session, regie: int, facility: int, name: str, kind: ActivityKind, **notice: Unpack[Notice]) -> int:
    activity = Activity(
        regie_id=regie,
        facility_id=facility,
        name=name,
        kind=kind,
        start_date=date(2026, 9, 2),
        end_date=date(2027, 7, 9),
        **notice,
    )
    db.add(activity)
    db.flush()
    assert activity.id is not None
    return activity.id


def _unit(db: Session, activity: int, name: str, start: time, end: time, position: int) -> int:
    unit = Unit(activity_id=activity, name=name, start_time=start, end_time=end, position=position)
    db.add(unit)
    db.flush()
    assert unit.id is not None
    return unit.id


def _group(db: Session, activity: int, name: str, min_age: int, max_age: int) -> int:
    group = AgeGroup(activity_id=activity, name=name, min_age=min_age, max_age=max_age)
    db.add(group)
    db.flush()
    assert group.id is not None
    return group.id


def build(engine) -> World:
    with Session(engine) as db:
        agent = Agent(login="jpetit", display_name="Julie Petit", role=Role.ACCUEIL)
        db.add(agent)
        regie = add_regie(db)
        facility = Facility(name="Centre des Lucioles", kind=FacilityKind.LEISURE_CENTRE)
        db.add(facility)
        db.flush()
        assert facility.id is not None and agent.id is not None
        mercredi = _activity(
            db,
            regie,
            facility.id,
            "Mercredi",
            ActivityKind.WEDNESDAY,
            notice_days=2,
            notice_time=time(12, 0),
            notice_business_days=True,
        )
        peri = _activity(db, regie, facility.id, "Périscolaire", ActivityKind.AFTER_SCHOOL)
        stage = _activity(db, regie, facility.id, "Stage théâtre", ActivityKind.HOLIDAYS, notice_days=0)
        db.add(
            ActivityPeriod(
                activity_id=mercredi,
                name="Année",
                start_date=date(2026, 9, 2),
                end_date=date(2027, 6, 30),
                weekdays="3",
            )
        )
        db.add(
            ActivityPeriod(
                activity_id=peri, name="Année", start_date=date(2026, 9, 2), end_date=date(2027, 7, 9), weekdays="1245"
            )
        )
        db.add(
            ActivityPeriod(
                activity_id=stage, name="Année", start_date=date(2026, 9, 2), end_date=date(2027, 7, 9), weekdays="3"
            )
        )
        matin = _unit(db, mercredi, "Matin", time(7, 30), time(11, 45), 1)
        repas = _unit(db, mercredi, "Repas", time(12, 15), time(13, 15), 2)
        apres_midi = _unit(db, mercredi, "Après-midi", time(13, 15), time(18, 30), 3)
        journee = _unit(db, mercredi, "Journée", time(7, 30), time(18, 30), 4)
        acc_soir = _unit(db, peri, "Acc soir", time(16, 30), time(19, 0), 1)
        atelier = _unit(db, stage, "Atelier", time(11, 0), time(12, 30), 1)
        for other in (matin, apres_midi):
            db.add(UnitRule(unit_id=repas, other_unit_id=other, kind=UnitRuleKind.REQUIRES_ONE_OF))
        db.add(UnitRule(unit_id=journee, other_unit_id=matin, kind=UnitRuleKind.EXCLUDES))
        mater = _group(db, mercredi, "Maternelle", 3, 5)
        elem = _group(db, mercredi, "Élémentaire", 6, 11)
        db.add(Capacity(age_group_id=mater, unit_id=matin, places=2))
        db.add(Capacity(age_group_id=mater, unit_id=matin, day=OVERRIDE_WED, places=1, reason="Sortie"))
        peri_group = _group(db, peri, "Tous", 2, 11)
        stage_group = _group(db, stage, "Tous", 3, 11)
        db.add_all(
            [
                DayOff(day=date(2026, 11, 11), kind=DayOffKind.PUBLIC_HOLIDAY, name="Armistice"),
                DayOff(day=date(2026, 12, 23), kind=DayOffKind.SCHOOL_HOLIDAY, name="Vacances de Noël"),
                DayOff(day=date(2026, 12, 25), kind=DayOffKind.PUBLIC_HOLIDAY, name="Noël"),
                Closure(activity_id=mercredi, day=date(2027, 1, 13), reason="Travaux"),
            ]
        )
        births = {
            "Léa": date(2021, 5, 10),
            "Tom": date(2021, 3, 1),
            "Zoé": date(2022, 1, 20),
            "Hugo": date(2021, 8, 8),
            "Noé": date(2018, 4, 4),
            "Ivy": date(2021, 2, 2),
            "Paul": date(2021, 6, 6),
            "Jade": date(2021, 7, 7),
        }
        kids: dict[str, int] = {}
        for first, birth in births.items():
            add_family(db, f"FAMILLE {first.upper()}", children=[(first, birth)])
            kids[first] = db.exec(select(id_col(Child.id)).where(Child.first_name == first)).one()
        for first in ("Léa", "Tom", "Zoé", "Hugo", "Noé"):
            group = elem if first == "Noé" else mater
            for activity, group_id in ((mercredi, group), (peri, peri_group), (stage, stage_group)):
                db.add(
                    Enrollment(
                        child_id=kids[first],
                        activity_id=activity,
                        age_group_id=group_id,
                        status=EnrollmentStatus.ACCEPTED,
                        source=Source.AGENT,
                    )
                )
        db.add(
            Enrollment(
                child_id=kids["Paul"],
                activity_id=mercredi,
                age_group_id=mater,
                status=EnrollmentStatus.WAITING,
                source=Source.PORTAL,
            )
        )
        db.add(
            Enrollment(
                child_id=kids["Jade"],
                activity_id=mercredi,
                age_group_id=mater,
                start_date=date(2027, 1, 1),
                status=EnrollmentStatus.ACCEPTED,
                source=Source.AGENT,
            )
        )
        db.commit()
        return World(
            agent=agent.id,
            mercredi=mercredi,
            peri=peri,
            stage=stage,
            matin=matin,
            repas=repas,
            apres_midi=apres_midi,
            journee=journee,
            acc_soir=acc_soir,
            atelier=atelier,
            mater=mater,
            elem=elem,
            kids=kids,
        )
