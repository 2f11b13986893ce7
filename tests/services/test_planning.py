"""A child's grid: every appearance of the legend, its explanation, and edits through the rules."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from regie_tui.clock import PARIS
from regie_tui.models import (
    Activity,
    Agent,
    Booking,
    BookingState,
    Charge,
    ChargeKind,
    Child,
    Enrollment,
    Guardian,
    InvoiceLine,
    OutboxMail,
    Role,
    Source,
    Unit,
)
from regie_tui.services.bookings.cells import Action, CellRequest, StaleCells
from regie_tui.services.bookings.planning import (
    LEGEND,
    Appearance,
    View,
    check_edits,
    child_grid,
    period_of,
    save_edits,
    shift,
)
from regie_tui.services.common.sql import id_of
from regie_tui.services.families.search import find_children
from regie_tui.services.trust.agents import AgentInfo

from booking_world import NOW, WED, World, build
from builders import add_invoice
from helpers import get_row

MONDAY = date(2026, 11, 16)  # the week before today (Monday 23/11)


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def _agent(engine, world: World, role: Role = Role.ACCUEIL) -> AgentInfo:
    with Session(engine) as db:
        agent = db.get(Agent, world.agent)
        assert agent is not None
        return AgentInfo(id=id_of(agent), login=agent.login, display_name=agent.display_name, role=role)


def _book(db: Session, child: int, day: date, unit: int, state: BookingState) -> Booking:
    activity = get_row(db, Unit, unit).activity_id
    enrollment = db.exec(
        select(Enrollment).where(Enrollment.child_id == child, Enrollment.activity_id == activity)
    ).one()
    booking = Booking(
        child_id=child,
        day=day,
        unit_id=unit,
        enrollment_id=id_of(enrollment),
        state=state,
        source=Source.PORTAL,
        changed_at=datetime(2026, 11, 2, 9, 30, tzinfo=PARIS),
    )
    db.add(booking)
    db.flush()
    return booking


def _charge(db: Session, booking: Booking, *, invoice_line: int | None = None) -> None:
    child = db.get(Child, booking.child_id)
    assert child is not None
    regie = db.exec(select(Activity.regie_id)).first()
    assert regie is not None
    db.add(
        Charge(
            family_id=child.family_id,
            child_id=child.id,
            booking_id=booking.id,
            regie_id=regie,
            kind=ChargeKind.SERVICE,
            day=booking.day,
            label="Acc soir",
            quantity=Decimal(1),
            unit_price_cents=240,
            amount_cents=240,
            invoice_line_id=invoice_line,
        )
    )


def test_periods_and_shifts():
    assert period_of(View.WEEK, date(2026, 11, 25)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert period_of(View.MONTH, date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_of(View.DAY, WED) == (WED, WED)
    assert shift(View.MONTH, date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert shift(View.MONTH, date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert shift(View.WEEK, WED, -1) == date(2026, 12, 2)


def test_the_grid_shows_every_appearance_with_its_explanation(engine, world):
    lea = world.kids["Léa"]
    with Session(engine) as db:
        regie = db.exec(select(Activity.regie_id)).first()
        assert regie is not None
        family = get_row(db, Child, lea).family_id
        db.exec(select(Unit).where(Unit.id == world.journee)).one().package = "Forfait journée"
        _book(db, lea, MONDAY, world.acc_soir, BookingState.PRESENT)
        _book(db, lea, date(2026, 11, 17), world.acc_soir, BookingState.ABSENT_UNJUSTIFIED)
        _book(db, lea, date(2026, 11, 19), world.acc_soir, BookingState.ABSENT_JUSTIFIED)
        _book(db, lea, date(2026, 11, 20), world.acc_soir, BookingState.PRESENT_SPECIAL)
        _book(db, lea, date(2026, 11, 18), world.matin, BookingState.RESERVED)
        _book(db, lea, date(2026, 11, 18), world.repas, BookingState.RESERVED)
        _book(db, lea, WED, world.repas, BookingState.RESERVED)  # without Matin nor Après-midi
        _book(db, lea, date(2026, 12, 10), world.acc_soir, BookingState.REQUESTED)
        _book(db, lea, date(2026, 12, 11), world.acc_soir, BookingState.WAITING_LIST)
        payable = _book(db, lea, date(2026, 12, 7), world.acc_soir, BookingState.RESERVED)
        _charge(db, payable)
        billed = _book(db, lea, date(2026, 11, 13), world.acc_soir, BookingState.PRESENT)
        invoice = add_invoice(db, family, regie, "pop-F261100001", 240)
        line = InvoiceLine(
            invoice_id=invoice,
            position=1,
            child_id=lea,
            unit_id=world.acc_soir,
            kind=ChargeKind.SERVICE,
            label="Acc soir",
            quantity=Decimal(1),
            unit_price_cents=240,
            amount_cents=240,
        )
        db.add(line)
        db.flush()
        _charge(db, billed, invoice_line=line.id)
        # The two Maternelle places of Matin on 16/12 are taken by Tom and Zoé.
        for kid in ("Tom", "Zoé"):
            _book(db, world.kids[kid], date(2026, 12, 16), world.matin, BookingState.RESERVED)
        db.commit()
        grid = child_grid(db, child_id=lea, first=date(2026, 11, 9), last=date(2026, 12, 20), now=NOW)

    assert [(r.activity_name, r.unit_name) for r in grid.rows] == [
        ("Périscolaire", "Acc soir"),
        ("Mercredi", "Matin"),
        ("Mercredi", "Repas"),
        ("Mercredi", "Après-midi"),
        ("Mercredi", "Journée"),
        ("Stage théâtre", "Atelier"),
    ]
    cells = {
        "present": grid.cell(MONDAY, world.acc_soir),
        "unjustified": grid.cell(date(2026, 11, 17), world.acc_soir),
        "justified": grid.cell(date(2026, 11, 19), world.acc_soir),
        "special": grid.cell(date(2026, 11, 20), world.acc_soir),
        "reserved": grid.cell(date(2026, 11, 18), world.matin),
        "alone": grid.cell(WED, world.repas),
        "requested": grid.cell(date(2026, 12, 10), world.acc_soir),
        "waiting": grid.cell(date(2026, 12, 11), world.acc_soir),
        "payable": grid.cell(date(2026, 12, 7), world.acc_soir),
        "billed": grid.cell(date(2026, 11, 13), world.acc_soir),
        "full": grid.cell(date(2026, 12, 16), world.matin),
        "free": grid.cell(date(2026, 12, 14), world.acc_soir),
        "package": grid.cell(date(2026, 12, 16), world.journee),
        "late": grid.cell(NOW.date(), world.acc_soir),
        "closed": grid.cell(date(2026, 11, 21), world.acc_soir),  # Saturday
        "holiday": grid.cell(date(2026, 11, 11), world.acc_soir),
    }
    shown = {name: (cell.appearance, cell.glyph) for name, cell in cells.items()}
    assert shown == {
        "present": (Appearance.LOCKED, "✓"),
        "unjustified": (Appearance.ABSENCE, "A"),
        "justified": (Appearance.ABSENCE, "a"),
        "special": (Appearance.PRESENCE_SPECIAL, "+"),
        "reserved": (Appearance.PRESENCE, "●"),
        "alone": (Appearance.NOT_ALLOWED, "!"),
        "requested": (Appearance.REQUESTED, "?"),
        "waiting": (Appearance.WAITING_LIST, "L"),
        "payable": (Appearance.PAYABLE, "€"),
        "billed": (Appearance.BILLED, "F"),
        "full": (Appearance.CAPACITY, "C"),
        "free": (Appearance.FREE, "·"),
        "package": (Appearance.PACKAGE, "*"),
        "late": (Appearance.IMPOSSIBLE, "×"),
        "closed": (Appearance.IMPOSSIBLE, "-"),
        "holiday": (Appearance.IMPOSSIBLE, "-"),
    }
    assert {a for a, _ in shown.values()} == {entry.appearance for entry in LEGEND}  # all thirteen
    assert cells["alone"].explanation.startswith("Non autorisée : Repas sans Matin ni Après-midi le mercredi")
    assert cells["reserved"].explanation.startswith("Réservée — par le portail famille, le 02/11/2026 09:30")
    assert "annulation impossible : Délai de prévenance dépassé" in cells["reserved"].explanation
    assert cells["billed"].explanation.startswith("Facturé (facture pop-F261100001, 2,40\u00a0€)")
    assert cells["payable"].explanation.startswith("Payante : prestation de 2,40\u00a0€ à facturer")
    assert cells["holiday"].explanation == "Réservation impossible : Jour férié : Armistice"
    assert cells["late"].explanation == "Réservation impossible : Délai de prévenance dépassé (la veille à 15:00)"
    assert cells["free"].explanation == "Libre — réservable avant le 13/12/2026 à 15:00"
    assert cells["full"].explanation == "Limite de capacité atteinte : une réservation irait en liste d'attente"
    assert "Forfait journée" in cells["package"].explanation
    assert date(2026, 11, 21) in grid.closed_days and MONDAY not in grid.closed_days


def test_edits_are_judged_together_then_saved_in_one_transaction(engine, world):
    lea = world.kids["Léa"]
    agent = _agent(engine, world)
    with Session(engine) as db:
        grid = child_grid(db, child_id=lea, first=WED, last=WED, now=NOW)
        edits = [
            CellRequest(WED, world.matin, "book"),
            CellRequest(WED, world.repas, "book"),
            CellRequest(WED, world.journee, "book"),  # excluded with Matin
        ]
        checks = check_edits(db, child_id=lea, edits=edits, agent=agent, now=NOW)
        assert [c.rule for c in checks] == ["", "", "Journée impossible avec Matin le même jour"]
        loaded = {(WED, u): grid.cell(WED, u).stamp for u in (world.matin, world.repas)}
        saved = save_edits(db, child_id=lea, edits=edits[:2], loaded=loaded, agent=agent, now=NOW)
        db.commit()
    assert all(c.allowed for c in saved)
    with Session(engine) as db:
        after = child_grid(db, child_id=lea, first=WED, last=WED, now=NOW)
    assert after.cell(WED, world.matin).appearance == Appearance.PRESENCE
    assert after.cell(WED, world.matin).explanation.startswith("Réservée — par Julie Petit, le 23/11/2026 10:00")
    # A save from the grid loaded before is refused: the cells moved since.
    with Session(engine) as db, pytest.raises(StaleCells):
        save_edits(
            db, child_id=lea, edits=[CellRequest(WED, world.matin, "cancel")], loaded=loaded, agent=agent, now=NOW
        )


def test_a_regisseur_may_unlock_a_cell_an_accueil_agent_may_not(engine, world):
    lea = world.kids["Léa"]
    with Session(engine) as db:
        _book(db, lea, MONDAY, world.acc_soir, BookingState.PRESENT)
        db.commit()
    fix = [CellRequest(MONDAY, world.acc_soir, "set", BookingState.ABSENT_JUSTIFIED)]
    with Session(engine) as db:
        desk = check_edits(db, child_id=lea, edits=fix, agent=_agent(engine, world), now=NOW, reason="Certificat")
        regisseur = _agent(engine, world, Role.REGISSEUR)
        boss = check_edits(db, child_id=lea, edits=fix, agent=regisseur, now=NOW, reason="Certificat")
    assert desk[0].rule == "Cellule verrouillée : présence relevée (modifiable par un régisseur, avec un motif)"
    assert boss[0].allowed


def test_a_freed_place_goes_to_the_first_waiting_child_whose_family_is_told(engine, world):
    tom, zoe, hugo = world.kids["Tom"], world.kids["Zoé"], world.kids["Hugo"]
    agent = _agent(engine, world)
    wed = date(2026, 12, 16)
    with Session(engine) as db:
        hugo_family = get_row(db, Child, hugo).family_id
        db.add(
            Guardian(
                family_id=hugo_family,
                first_name="Inès",
                last_name="Hugo",
                relationship="mère",
                is_payer=True,
                email="ines.hugo@example.fr",
            )
        )
        db.commit()

    def save(child: int, action: Action):
        with Session(engine) as db:
            result = save_edits(
                db, child_id=child, edits=[CellRequest(wed, world.matin, action)], loaded={}, agent=agent, now=NOW
            )
            db.commit()
            return result[0]

    save(tom, "book")
    save(zoe, "book")
    assert save(hugo, "book").waiting_list  # two places for Maternelle
    freed = save(tom, "cancel")
    assert freed.promoted is not None and freed.promoted.child_id == hugo
    with Session(engine) as db:
        assert db.exec(select(Booking.state).where(Booking.child_id == hugo)).one() == BookingState.RESERVED
        mails = db.exec(select(OutboxMail).where(OutboxMail.family_id == hugo_family)).all()
    assert [(m.to_address, m.subject) for m in mails] == [
        ("ines.hugo@example.fr", "Place confirmée pour Hugo Famille Hugo le 16/12/2026")
    ]


def test_find_children_by_a_word_of_the_family_file(engine, world):
    with Session(engine) as db:
        found = find_children(db, "famille lea")
        assert [(c.first_name, c.family_name) for c in found][:1] == [("Léa", "FAMILLE LÉA")]
        assert find_children(db, "   ") == []
        assert find_children(db, "zzzz") == []
