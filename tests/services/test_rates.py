"""Rates: the grid of a day, setting a rate from a date (admins only), what issued invoices forbid."""

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from regie_tui.db import make_engine
from regie_tui.errors import AccessDenied, RegieError
from regie_tui.models import Activity, Agent, AuditEntry, QfBracket, Rate, Role, Unit
from regie_tui.services.billing.rates import (
    RateGridRow,
    RateValue,
    cents_text,
    latest_rate_start,
    rate_grid,
    rate_history,
    rate_on,
    set_rate,
)
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.common.validation import parse_money
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY


@pytest.fixture
def db(town_url):
    engine = make_engine(town_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def fresh_db(fresh_town_url):
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def filled(row: RateGridRow) -> list[RateValue]:
    """The row's cells, every one holding a rate (an empty cell fails here)."""
    cells = [cell for cell in row.cells if cell is not None]
    assert len(cells) == len(row.cells), row.cells
    return cells


def cell(row: RateGridRow, index: int) -> RateValue:
    """The row's cell of the bracket at ``index``, which holds a rate."""
    value = row.cells[index]
    assert value is not None, f"no rate in cell {index} of {row.unit_name}"
    return value


def unit_id(db: Session, activity: str, unit: str) -> int:
    return db.exec(
        select(id_col(Unit.id))
        .join(Activity, col(Activity.id) == Unit.activity_id)
        .where(Activity.name == activity, Unit.name == unit)
    ).one()


def bracket_id(db: Session, name: str) -> int:
    return db.exec(select(id_col(QfBracket.id)).where(QfBracket.name == name)).one()


def agent_id(db: Session, role: Role | None = None) -> int:
    if role is None:
        return id_of(resolve_agent(db, ADMIN_LOGIN))
    found = db.exec(select(id_col(Agent.id)).where(Agent.role == role)).first()
    assert found is not None, f"the town has an agent of role {role}"
    return found


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("4,15", 415), ("4", 400), ("4,5", 450), ("4.15", 415), (" 1 250,00 € ", 125000), ("0", 0), ("0,05", 5)],
)
def test_parse_money_reads_french_amounts(typed, cents):
    assert parse_money(typed, positive=False) == cents
    assert parse_money(cents_text(cents), positive=False) == cents


@pytest.mark.parametrize("typed", ["", "abc", "4,155", "-2", "4,15,2"])
def test_parse_money_refuses_what_is_not_an_amount(typed):
    with pytest.raises(RegieError, match="Tarif"):
        parse_money(typed, "Tarif", positive=False)


def test_grid_of_the_demo_town(db):
    grid = rate_grid(db, on=TODAY)
    assert [b.name for b in grid.brackets] == ["0-650", "651-950", "951-1250", "> 1250", "Extérieur"]
    rows = {(r.activity_name, r.unit_name): r for r in grid.rows}
    matin = rows[("Périscolaire Jules Ferry", "Acc matin")]
    assert [c.amount_cents for c in filled(matin)] == [120, 160, 200, 240, 300]
    assert all(c.unbooked_surcharge_cents == 100 and c.valid_from == date(2026, 9, 1) for c in filled(matin))
    assert all(c.next_from is None for c in filled(matin))
    journee = rows[("ALSH vacances de Noël 2026", "Journée")]
    assert journee.package == "Forfait semaine" and journee.regie_code == "alsh"
    assert matin.package is None and matin.regie_code == "pop"
    # September and October are invoiced: no rate may start before November
    assert grid.locked_until[matin.unit_id] == date(2026, 10, 31)
    # the activities of that school year only
    assert not rate_grid(db, on=date(2025, 11, 23)).rows


def test_new_rate_from_a_date_then_corrected(fresh_db):
    db = fresh_db
    unit, bracket, admin = unit_id(db, "Périscolaire Jules Ferry", "Acc matin"), bracket_id(db, "0-650"), agent_id(db)
    result = set_rate(
        db,
        unit_id=unit,
        bracket_id=bracket,
        valid_from=date(2027, 1, 1),
        amount_cents=130,
        unbooked_surcharge_cents=110,
        absence_penalty_cents=50,
        agent_id=admin,
    )
    db.commit()
    assert result.created and result.changed and result.rate.amount_cents == 130
    assert result.unit_name == "Acc matin" and result.bracket_name == "0-650"

    before = rate_on(db, unit_id=unit, bracket_id=bracket, day=date(2026, 12, 31))
    assert before is not None
    assert before.amount_cents == 120 and before.next_from == date(2027, 1, 1)
    after = rate_on(db, unit_id=unit, bracket_id=bracket, day=date(2027, 1, 1))
    assert after is not None
    assert (after.amount_cents, after.unbooked_surcharge_cents, after.absence_penalty_cents) == (130, 110, 50)
    # the grid shows the rate of its day, and the change to come
    december = next(r for r in rate_grid(db, on=date(2026, 12, 31)).rows if r.unit_id == unit)
    assert cell(december, 0).amount_cents == 120 and cell(december, 0).next_from == date(2027, 1, 1)
    assert cell(december, 1).next_from is None  # other brackets unchanged
    january = next(r for r in rate_grid(db, on=date(2027, 1, 4)).rows if r.unit_id == unit)
    assert cell(january, 0).amount_cents == 130 and cell(january, 1).amount_cents == 160

    history = [line for line in rate_history(db, unit_id=unit) if line.bracket_name == "0-650"]
    assert [(h.rate.valid_from, h.rate.amount_cents, h.rate.next_from) for h in history] == [
        (date(2026, 9, 1), 120, date(2027, 1, 1)),
        (date(2027, 1, 1), 130, None),
    ]

    corrected = set_rate(
        db,
        unit_id=unit,
        bracket_id=bracket,
        valid_from=date(2027, 1, 1),
        amount_cents=135,
        unbooked_surcharge_cents=110,
        absence_penalty_cents=50,
        agent_id=admin,
    )
    db.commit()
    assert not corrected.created and corrected.changed and corrected.rate.id == result.rate.id
    assert len(db.exec(select(Rate).where(Rate.unit_id == unit, Rate.bracket_id == bracket)).all()) == 2
    entries = db.exec(select(AuditEntry).where(AuditEntry.entity == "rate").order_by(col(AuditEntry.id))).all()
    assert [(e.action, e.agent_id) for e in entries] == [("create", admin), ("update", admin)]
    assert entries[0].before is None and entries[0].after["amount_cents"] == 130
    assert entries[1].before["amount_cents"] == 130 and entries[1].after["amount_cents"] == 135
    assert entries[1].after["valid_from"] == "2027-01-01"

    same = set_rate(
        db,
        unit_id=unit,
        bracket_id=bracket,
        valid_from=date(2027, 1, 1),
        amount_cents=135,
        unbooked_surcharge_cents=110,
        absence_penalty_cents=50,
        agent_id=admin,
    )
    assert not same.changed
    assert len(db.exec(select(AuditEntry).where(AuditEntry.entity == "rate")).all()) == 2


@pytest.mark.parametrize("role", [Role.ACCUEIL, Role.REGISSEUR])
def test_only_an_admin_sets_a_rate(fresh_db, role):
    db = fresh_db
    with pytest.raises(AccessDenied, match="administrateur"):
        set_rate(
            db,
            unit_id=unit_id(db, "Périscolaire Jules Ferry", "Acc matin"),
            bracket_id=bracket_id(db, "0-650"),
            valid_from=date(2027, 1, 1),
            amount_cents=130,
            agent_id=agent_id(db, role),
        )


def test_refusals(fresh_db):
    db = fresh_db
    admin, bracket = agent_id(db), bracket_id(db, "0-650")
    matin = unit_id(db, "Périscolaire Jules Ferry", "Acc matin")
    journee = unit_id(db, "ALSH vacances d'hiver 2027", "Journée")
    count = len(db.exec(select(Rate)).all())

    def attempt(**values):
        arguments: dict[str, Any] = {
            "unit_id": matin,
            "bracket_id": bracket,
            "valid_from": date(2027, 1, 1),
            "amount_cents": 130,
            "agent_id": admin,
        }
        set_rate(db, **(arguments | values))

    # October is invoiced: a rate from October (or from the first day of the year) would change issued invoices
    with pytest.raises(RegieError, match="déjà facturé jusqu'au 31/10/2026"):
        attempt(valid_from=date(2026, 10, 15))
    with pytest.raises(RegieError, match="déjà facturé"):
        attempt(valid_from=date(2026, 9, 1))
    with pytest.raises(RegieError, match="négatif"):
        attempt(absence_penalty_cents=-1)
    with pytest.raises(RegieError, match="ne déclenche aucun forfait"):
        attempt(package_cents=4000)
    with pytest.raises(RegieError, match="Forfait semaine.*indiquez son prix"):
        attempt(unit_id=journee, amount_cents=900)
    assert len(db.exec(select(Rate)).all()) == count

    # November is not invoiced yet: allowed from its first day; a unit with a package takes its price
    attempt(valid_from=date(2026, 11, 1))
    done = set_rate(
        db,
        unit_id=journee,
        bracket_id=bracket,
        valid_from=date(2027, 1, 1),
        amount_cents=900,
        package_cents=4000,
        agent_id=admin,
    )
    assert done.rate.package_cents == 4000
    later = rate_on(db, unit_id=journee, bracket_id=bracket, day=date(2027, 2, 15))
    assert later is not None and later.package_cents == 4000


def test_a_rate_cannot_start_more_than_18_months_ahead(fresh_db):
    db = fresh_db
    matin = unit_id(db, "Périscolaire Jules Ferry", "Acc matin")
    arguments = {"unit_id": matin, "bracket_id": bracket_id(db, "0-650"), "amount_cents": 130, "agent_id": agent_id(db)}
    rates, audits = len(db.exec(select(Rate)).all()), len(db.exec(select(AuditEntry)).all())
    for day in (date(2028, 5, 24), date(2099, 1, 1), date(9999, 12, 31)):
        with pytest.raises(RegieError) as refused:
            set_rate(db, valid_from=day, **arguments)
        assert refused.value.message == (
            f"Date d'effet {day:%d/%m/%Y} trop lointaine : un tarif commence au plus tard 18 mois après "
            "aujourd'hui, soit le 23/05/2028."
        )
    assert (len(db.exec(select(Rate)).all()), len(db.exec(select(AuditEntry)).all())) == (rates, audits)
    # 18 months to the day is the last one allowed
    assert set_rate(db, valid_from=date(2028, 5, 23), **arguments).rate.valid_from == date(2028, 5, 23)


@pytest.mark.parametrize(
    ("today", "latest"),
    [
        (date(2026, 11, 23), date(2028, 5, 23)),
        (date(2026, 8, 31), date(2028, 2, 29)),  # no 31 February: the month's last day (a leap year)
        (date(2027, 8, 31), date(2029, 2, 28)),
        (date(2026, 6, 30), date(2027, 12, 30)),
        (date(2026, 7, 1), date(2028, 1, 1)),
    ],
)
def test_the_latest_start_of_a_rate_is_18_months_after_today(today, latest):
    assert latest_rate_start(today) == latest
