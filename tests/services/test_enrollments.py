"""Enrolment checks: the child's age on the first day, the group's places, the waiting list."""

from dataclasses import dataclass
from datetime import date, datetime, time

import pytest
from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.errors import RegieError
from regie_tui.models import (
    Activity,
    ActivityKind,
    AgeGroup,
    Agent,
    AuditEntry,
    Capacity,
    Child,
    Enrollment,
    EnrollmentStatus,
    Facility,
    FacilityKind,
    Role,
    Source,
    Unit,
)
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.families.enrollments import check_enrollment, enrol

from builders import add_family, add_regie
from helpers import get_row

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
FIRST_DAY = date(2027, 7, 7)


@dataclass
class World:
    agent: int
    alsh: int
    other: int
    mater34: int
    mater56: int
    prim: int
    other_group: int
    kids: dict[str, int]


def build(engine) -> World:
    with Session(engine) as db:
        agent = Agent(login="jpetit", display_name="Julie Petit", role=Role.ACCUEIL)
        facility = Facility(name="Centre des Lucioles", kind=FacilityKind.LEISURE_CENTRE)
        db.add_all([agent, facility])
        regie = add_regie(db, "alsh")
        db.flush()
        activities = []
        for name, start, end in (
            ("ALSH vacances d'été 2027", FIRST_DAY, date(2027, 7, 30)),
            ("Mercredi", date(2026, 9, 2), date(2027, 7, 3)),
        ):
            activity = Activity(
                regie_id=regie,
                facility_id=id_of(facility),
                name=name,
                kind=ActivityKind.HOLIDAYS,
                start_date=start,
                end_date=end,
            )
            db.add(activity)
            db.flush()
            activities.append(id_of(activity))
        alsh, other = activities
        groups: list[int] = []
        for activity_id, name, low, high in (
            (alsh, "MATER 3-4 ans", 3, 4),
            (alsh, "MATER 5-6 ans", 5, 6),
            (alsh, "PRIM 7-11 ans", 7, 11),
            (other, "Tous", 3, 11),
        ):
            group = AgeGroup(activity_id=activity_id, name=name, min_age=low, max_age=high, position=len(groups))
            db.add(group)
            db.flush()
            groups.append(id_of(group))
        mater34, mater56, prim, other_group = groups
        journee = Unit(activity_id=alsh, name="Journée", start_time=time(7, 30), end_time=time(18, 30))
        sortie = Unit(activity_id=alsh, name="Sortie", start_time=time(9), end_time=time(17))
        db.add_all([journee, sortie])
        db.flush()
        db.add_all(
            [
                Capacity(age_group_id=mater34, unit_id=id_of(journee), places=2),
                Capacity(age_group_id=mater34, unit_id=id_of(sortie), places=1),
                Capacity(age_group_id=mater34, unit_id=id_of(journee), day=FIRST_DAY, places=9),  # ignored here
                Capacity(age_group_id=mater56, unit_id=id_of(journee), places=12),
            ]
        )
        births = {
            "Léa": date(2023, 3, 1),  # 4 on the first day
            "Tom": date(2023, 8, 1),  # 3
            "Zoé": date(2023, 1, 15),  # 4
            "Hugo": date(2022, 7, 8),  # 4 on 07/07/2027, 5 from 08/07/2027
            "Noé": date(2018, 4, 4),  # 9
        }
        kids = {}
        for first, birth in births.items():
            add_family(db, f"FAMILLE {first.upper()}", children=[(first, birth)])
            kids[first] = db.exec(select(id_col(Child.id)).where(Child.first_name == first)).one()
        db.commit()
        return World(id_of(agent), alsh, other, mater34, mater56, prim, other_group, kids)


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def do_enrol(engine, world: World, child: str, group: int, *, waiting_list: bool = False, start=None, end=None) -> int:
    with Session(engine) as db:
        enrollment_id = enrol(
            db,
            child_id=world.kids[child],
            activity_id=world.alsh,
            age_group_id=group,
            start_date=start,
            end_date=end,
            waiting_list=waiting_list,
            agent_id=world.agent,
            source=Source.AGENT,
            now=NOW,
        )
        db.commit()
        return enrollment_id


def do_check(engine, world: World, child: str, group: int, start=None, end=None):
    with Session(engine) as db:
        return check_enrollment(
            db, child_id=world.kids[child], activity_id=world.alsh, age_group_id=group, start_date=start, end_date=end
        )


def test_check_gives_the_age_every_group_and_its_places(engine, world):
    check = do_check(engine, world, "Léa", world.mater34)
    assert (check.child_name, check.activity_name, check.period) == (
        "Léa Famille Léa",
        "ALSH vacances d'été 2027",
        "du 07/07/2027 au 30/07/2027",
    )
    assert (check.first_day, check.age_on_first_day, check.already) == (FIRST_DAY, 4, None)
    # Places: the largest usual capacity over the group's units (day overrides aside); none set: unlimited.
    assert [(g.name, g.min_age, g.max_age, g.age_fits, g.places_left) for g in check.groups] == [
        ("MATER 3-4 ans", 3, 4, True, 2),
        ("MATER 5-6 ans", 5, 6, False, 12),
        ("PRIM 7-11 ans", 7, 11, False, None),
    ]
    assert check.group.name == "MATER 3-4 ans" and not check.full


def test_enrol_accepts_and_audits_then_refuses_a_second_time(engine, world):
    enrollment_id = do_enrol(engine, world, "Léa", world.mater34)
    with Session(engine) as db:
        enrollment = db.get(Enrollment, enrollment_id)
        assert enrollment is not None
        assert (enrollment.status, enrollment.decided_by_id, enrollment.age_group_id) == (
            EnrollmentStatus.ACCEPTED,
            world.agent,
            world.mater34,
        )
        entry = db.exec(select(AuditEntry).where(AuditEntry.entity == "enrollment")).one()
        assert (entry.action, entry.entity_id, entry.agent_id) == ("create", enrollment_id, world.agent)
        assert entry.after == {
            "status": "accepted",
            "activity": "ALSH vacances d'été 2027",
            "child": "Léa Famille Léa",
            "group": "MATER 3-4 ans",
        }
    assert do_check(engine, world, "Léa", world.mater34).already == "Acceptée"
    with pytest.raises(RegieError, match="Léa Famille Léa est déjà inscrit\\(e\\) à ALSH vacances d'été 2027"):
        do_enrol(engine, world, "Léa", world.mater34)


def test_a_group_that_does_not_fit_the_age_is_refused(engine, world):
    with pytest.raises(RegieError) as refused:
        do_enrol(engine, world, "Noé", world.mater34)
    assert refused.value.message == (
        "Noé Famille Noé aura 9 ans le 07/07/2027 : le groupe MATER 3-4 ans accueille les enfants de 3 à 4 ans."
    )
    with Session(engine) as db:
        assert db.exec(select(Enrollment)).all() == []
    assert do_check(engine, world, "Noé", world.prim).group.age_fits


def test_the_age_is_taken_on_the_enrollment_start(engine, world):
    assert do_check(engine, world, "Hugo", world.mater34).age_on_first_day == 4
    later = do_check(engine, world, "Hugo", world.mater34, start=date(2027, 7, 8))
    assert (later.age_on_first_day, later.group.age_fits) == (5, False)
    assert [g.name for g in later.groups if g.age_fits] == ["MATER 5-6 ans"]
    do_enrol(engine, world, "Hugo", world.mater56, start=date(2027, 7, 8))


def test_a_full_group_is_refused_or_put_on_the_waiting_list(engine, world):
    do_enrol(engine, world, "Léa", world.mater34)
    do_enrol(engine, world, "Tom", world.mater34)
    check = do_check(engine, world, "Zoé", world.mater34)
    assert (check.group.places_left, check.full) == (0, True)
    with pytest.raises(RegieError) as refused:
        do_enrol(engine, world, "Zoé", world.mater34)
    assert refused.value.message == (
        "Le groupe MATER 3-4 ans de ALSH vacances d'été 2027 est complet du 07/07/2027 au 30/07/2027 : "
        "inscription possible en liste d'attente seulement."
    )
    waiting_id = do_enrol(engine, world, "Zoé", world.mater34, waiting_list=True)
    with Session(engine) as db:
        waiting = db.get(Enrollment, waiting_id)
        assert waiting is not None
        assert (waiting.status, waiting.reason) == (
            EnrollmentStatus.WAITING,
            "Groupe complet : inscription en liste d'attente.",
        )
    assert do_check(engine, world, "Zoé", world.mater34).already == "En attente"
    # A waiting enrollment holds no place; a place freed lets the waiting child in.
    with Session(engine) as db:
        tom = db.exec(select(Enrollment).where(Enrollment.child_id == world.kids["Tom"])).one()
        tom.status = EnrollmentStatus.REFUSED
        db.add(tom)
        db.commit()
    assert do_enrol(engine, world, "Zoé", world.mater34) == waiting_id
    with Session(engine) as db:
        assert get_row(db, Enrollment, waiting_id).status == EnrollmentStatus.ACCEPTED


def test_places_count_only_enrollments_meeting_the_period(engine, world):
    do_enrol(engine, world, "Léa", world.mater34, end=date(2027, 7, 16))
    do_enrol(engine, world, "Tom", world.mater34, end=date(2027, 7, 16))
    second_half = do_check(engine, world, "Zoé", world.mater34, start=date(2027, 7, 19))
    assert second_half.group.places_left == 2
    assert do_check(engine, world, "Zoé", world.mater34).group.places_left == 0


def test_a_requested_enrollment_is_decided(engine, world):
    with Session(engine) as db:
        db.add(
            Enrollment(
                child_id=world.kids["Zoé"],
                activity_id=world.alsh,
                age_group_id=world.mater56,
                status=EnrollmentStatus.REQUESTED,
                source=Source.PORTAL,
            )
        )
        db.commit()
    assert do_check(engine, world, "Zoé", world.mater34).already == "Demandée"
    enrollment_id = do_enrol(engine, world, "Zoé", world.mater34)
    with Session(engine) as db:
        enrollment = db.get(Enrollment, enrollment_id)
        assert enrollment is not None
        assert (enrollment.status, enrollment.age_group_id, enrollment.source, enrollment.version) == (
            EnrollmentStatus.ACCEPTED,
            world.mater34,
            Source.PORTAL,
            2,
        )
        entry = db.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        assert entry is not None
        assert (entry.action, entry.before) == ("decide", {"status": "requested"})


def test_inconsistent_requests_are_refused(engine, world):
    with pytest.raises(RegieError, match="n'est pas un groupe de ALSH vacances d'été 2027"):
        do_check(engine, world, "Léa", world.other_group)
    with pytest.raises(RegieError, match=r"Début d'inscription le 01/07/2027 : hors de ALSH"):
        do_check(engine, world, "Léa", world.mater34, start=date(2027, 7, 1))
    with pytest.raises(RegieError, match=r"La fin d'inscription \(10/07/2027\) précède son début \(20/07/2027\)"):
        do_check(engine, world, "Léa", world.mater34, start=date(2027, 7, 20), end=date(2027, 7, 10))
    with pytest.raises(RegieError, match="Enfant introuvable"), Session(engine) as db:
        check_enrollment(
            db, child_id=999_999, activity_id=world.alsh, age_group_id=world.mater34, start_date=None, end_date=None
        )
