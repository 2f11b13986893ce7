"""`regie occupancy --activity ID --month YYYY-MM [--json]`: a small activity added to the test town."""

import json
import re

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.models import (
    Activity,
    BookingState,
)

from builders import LUCIOLES_FULL_WED, add_lucioles
from helpers import ADMIN_LOGIN, act_as

runner = CliRunner()
FULL_WED = LUCIOLES_FULL_WED


@pytest.fixture(autouse=True)
def login(monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)


def regie(*args: str):
    return runner.invoke(cli.app, ["occupancy", *args])


@pytest.fixture
def small_activity(fresh_town_url):
    """'Mercredis Lucioles' added to the town: Matin; Maternelle 2 places (full on 9 December, one
    child waiting), Élémentaire unlimited. Returns (url, activity id)."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        activity_id = add_lucioles(db, second_state=BookingState.PRESENT)
        db.commit()
    engine.dispose()
    return fresh_town_url, activity_id


def test_json_gives_each_day_unit_and_group(small_activity):
    url, activity_id = small_activity
    result = regie("--activity", str(activity_id), "--month", "2026-12", "--db", url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["activity"] == {"id": activity_id, "name": "Mercredis Lucioles"}
    assert data["month"] == "2026-12"
    assert len(data["days"]) == 31
    days = {d["day"]: d for d in data["days"]}
    assert days["2026-12-01"]["closed"] == "Pas d'accueil le mardi"
    assert days["2026-12-01"]["units"] == []
    full = days["2026-12-09"]
    assert full["closed"] is None
    (matin,) = full["units"]
    assert (matin["unit"], matin["booked"], matin["waiting"], matin["capacity"]) == ("Matin", 2, 1, None)
    mater, elem = matin["groups"]
    assert mater == {
        "group_id": mater["group_id"],
        "group": "Maternelle",
        "capacity": 2,
        "booked": 2,
        "waiting": 1,
        "left": 0,
        "full": True,
    }
    assert (elem["group"], elem["capacity"], elem["booked"], elem["full"]) == ("Élémentaire", None, 0, False)
    quiet = days["2026-12-02"]["units"][0]["groups"][0]
    assert (quiet["booked"], quiet["left"], quiet["full"]) == (0, 2, False)


def test_plain_list_marks_the_full_group_and_lists_closed_days(small_activity):
    url, activity_id = small_activity
    result = regie("--activity", str(activity_id), "--month", "2026-12", "--db", url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Mercredis Lucioles" in out and "décembre 2026" in out
    assert "Groupes, dans l'ordre : Maternelle · Élémentaire" in out
    line = next(row for row in out.splitlines() if "09/12" in row)
    assert line.split() == ["mer", "09/12", "Matin", "■2/2", "·", "0/∞", "+1"]
    quiet = next(row for row in out.splitlines() if "02/12" in row)
    assert quiet.split() == ["mer", "02/12", "Matin", "0/2", "·", "0/∞"]
    assert line.index("0/∞") == quiet.index("0/∞")  # the groups line up
    assert "Fermé les 01, 08, 15, 22, 29 : Pas d'accueil le mardi" in out
    assert "Fermé le 25 : Jour férié : Noël" in out
    assert "1 avec un groupe complet (■)" in out


def test_three_units_of_five_groups_read_at_80_columns(town_url):
    """The seeded Mercredi: one line per open day × unit, never wider than 80 columns, nothing cut."""
    engine = make_engine(town_url)
    with Session(engine) as db:
        mercredi = db.exec(select(Activity.id).where(Activity.name == "Mercredi")).one()
    engine.dispose()
    result = regie("--activity", str(mercredi), "--month", "2026-12", "--db", town_url)
    assert result.exit_code == 0, result.output
    data = json.loads(regie("--activity", str(mercredi), "--month", "2026-12", "--db", town_url, "--json").output)
    lines = result.output.splitlines()
    heading = next(i for i, row in enumerate(lines) if row.startswith("Jour"))
    assert lines[heading].split() == ["Jour", "Unité", "Places", "Attente"]
    named = " ".join(" ".join(lines[1:heading]).split())  # the group names, cut into lines of 80 columns
    assert named == "Groupes, dans l'ordre : " + " · ".join(g["group"] for g in data["days"][1]["units"][0]["groups"])
    for day in (d for d in data["days"] if not d["closed"]):
        rows = [row for row in lines if row.startswith(f"mer {day['day'][8:10]}/12 ")]
        assert [row.split()[2] for row in rows] == [u["unit"].split()[0] for u in day["units"]]
        for row, unit in zip(rows, day["units"], strict=True):
            places = [f"{'■' if g['full'] else ''}{g['booked']}/{g['capacity']}" for g in unit["groups"]]
            assert re.findall(r"■?\d+/\d+", row[len("mer 02/12") :]) == places
            assert row.endswith(f" +{unit['waiting']}" if unit["waiting"] else places[-1])
    assert all(len(row) <= 80 for row in lines if not row.startswith("Fermé"))


def test_bad_month_and_unknown_activity_are_told_in_french(small_activity):
    url, activity_id = small_activity
    bad = regie("--activity", str(activity_id), "--month", "décembre", "--db", url)
    assert bad.exit_code == 1
    assert "Mois invalide : « décembre »" in bad.output and "Traceback" not in bad.output
    unknown = regie("--activity", "999999", "--month", "2026-12", "--db", url)
    assert unknown.exit_code == 1
    assert "Activité inconnue (n° 999999)" in unknown.output
