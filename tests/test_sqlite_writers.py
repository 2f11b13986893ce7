"""Several writers on one SQLite file wait their turn (issue 15, point 7).

A unit of work that writes begins with BEGIN IMMEDIATE (``session_scope(write=True)``):
it waits for the write lock within the busy timeout, then reads the latest commit, so a
stale save is told as such ("Planning modifié depuis son ouverture"), never as "database
is locked". Readers stay deferred and never wait for a writer.

Four OS processes set one booking cell of the seeded town at the same moment: they load
everything first, then wait on a barrier file (a lock the test holds) and start together.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from regie_tui.db import make_engine, session_scope
from regie_tui.errors import BUSY
from regie_tui.models import AuditEntry, Booking, BookingState, Role
from regie_tui.services.bookings.cells import FREE, STATE_LABELS
from regie_tui.services.trust.agents import add_agent
from regie_tui.services.trust.identity import os_login

from helpers import TODAY

SQLITE_TOWN = pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)

#: What one process runs: everything imported and loaded, "prêt" on stdout, then it waits
#: for the barrier file's lock and sets the cell, through the CLI or through the planning's
#: save with the cell's stamp as loaded before the barrier.
PROCESS = r"""
import fcntl, json, sys
args = json.loads(sys.argv[1])

from datetime import date
from sqlmodel import select
from regie_tui import clock
from regie_tui.db import open_database, session_scope
from regie_tui.errors import error_message
from regie_tui.models import Booking, BookingState
from regie_tui.services.trust.agents import current_agent
from regie_tui.services.bookings.cells import FREE_STAMP, CellRequest, CellStamp
from regie_tui.services.bookings.planning import save_edits

if args["mode"] == "cli":
    from regie_tui import cli
else:
    child, day, unit = args["child"], date.fromisoformat(args["day"]), args["unit"]
    engine = open_database(args["url"])
    with session_scope(engine) as session:
        agent = current_agent(session)
        booking = session.exec(
            select(Booking).where(Booking.child_id == child, Booking.day == day, Booking.unit_id == unit)
        ).first()
        stamp = CellStamp(booking.id, booking.version) if booking is not None else FREE_STAMP
        if args["state"] == "free":
            request = CellRequest(day=day, unit_id=unit, action="cancel")
        else:
            request = CellRequest(day=day, unit_id=unit, action="set", state=BookingState(args["state"]))

print("prêt", flush=True)
with open(args["barrier"]) as barrier:
    fcntl.flock(barrier, fcntl.LOCK_SH)

if args["mode"] == "cli":
    sys.argv = ["regie", *args["argv"]]
    cli.main()
try:
    with session_scope(engine, write=True) as session:
        (check,) = save_edits(
            session, child_id=child, edits=[request], loaded={(day, unit): stamp}, agent=agent, now=clock.now()
        )
except Exception as error:
    print(error_message(error, engine.url), file=sys.stderr)
    sys.exit(1)
if not check.allowed:
    print(f"Refusé — {check.rule}", file=sys.stderr)
    sys.exit(1)
print(f"Appliqué : {args['state']}")
"""

#: Four different states, each allowed on a reserved cell a fortnight ahead.
STATES = ("free", "absent_justified", "absent_unjustified", "waiting_list")
STALE = "Planning modifié depuis son ouverture, rien n'a été enregistré"
LOCKED_SIGNS = ("database is locked", "verrouill", BUSY)


def _ensure_os_agent(url: str) -> None:
    """The processes' agent is the OS account (SQLite): make it an administrator of the town."""
    engine = make_engine(url)
    try:
        with session_scope(engine, write=True) as session:
            add_agent(session, login=os_login(), role=Role.ADMIN, display_name=None, by=None)
    except Exception as error:  # already an agent (the town's own admin is another login)
        if "existe déjà" not in str(error):
            raise
    finally:
        engine.dispose()


def _the_cell(url: str) -> tuple[int, date, int, int]:
    """A reserved cell a fortnight ahead (no notice deadline in the way): child, day, unit, booking id."""
    engine = make_engine(url)
    with session_scope(engine) as session:
        booking = session.exec(
            select(Booking)
            .where(Booking.state == BookingState.RESERVED, Booking.day >= TODAY + timedelta(days=14))
            .order_by(col(Booking.day), col(Booking.id))
        ).first()
        assert booking is not None and booking.id is not None
        found = booking.child_id, booking.day, booking.unit_id, booking.id
    engine.dispose()
    return found


def _at_once(tmp_path: Path, runs: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """Start one process per run, wait until each is ready, then let them all go at once;
    (exit status, stdout, stderr) of each, once all have ended."""
    barrier = tmp_path / "barrier"
    barrier.touch()
    results: list[tuple[int, str, str]] = []
    with barrier.open() as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", PROCESS, json.dumps({**run, "barrier": str(barrier)})],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for run in runs
        ]

        def kill_all() -> None:
            for stuck in processes:
                stuck.kill()

        watchdog = threading.Timer(120, kill_all)
        watchdog.start()
        try:
            for process in processes:
                assert process.stdout is not None
                ready = process.stdout.readline()
                assert ready == "prêt\n", ready + (process.stderr.read() if process.stderr else "")
            fcntl.flock(held, fcntl.LOCK_UN)  # go
            for process in processes:
                out, err = process.communicate(timeout=120)
                results.append((process.returncode, out, err))
        finally:
            watchdog.cancel()
            for process in processes:
                if process.poll() is None:
                    process.kill()
    return results


def _never_locked(results: list[tuple[int, str, str]]) -> None:
    for code, out, err in results:
        assert not any(sign in out + err for sign in LOCKED_SIGNS), (code, out, err)
        assert "Traceback" not in err, err


def _sqlite_sound(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    raw.close()


def _cell_after(url: str, child: int, day: date, unit: int, since: int) -> tuple[list[Booking], list[AuditEntry]]:
    """The cell's booking rows, and the child's booking audit entries written after id ``since``."""
    engine = make_engine(url)
    with session_scope(engine) as session:
        rows = list(
            session.exec(select(Booking).where(Booking.child_id == child, Booking.day == day, Booking.unit_id == unit))
        )
        entries = list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.entity == "booking", AuditEntry.entity_id == child, col(AuditEntry.id) > since)
                .order_by(col(AuditEntry.id))
            )
        )
    engine.dispose()
    return rows, entries


def _last_audit_id(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        last = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_entry")).scalar_one()
    engine.dispose()
    return int(last)


def _label(state: str | None) -> str:
    return STATE_LABELS[BookingState(state)] if state else FREE


@SQLITE_TOWN
def test_four_processes_save_one_cell_one_applies_the_others_are_told_it_changed(fresh_town_url, tmp_path):
    _ensure_os_agent(fresh_town_url)
    child, day, unit, booking_id = _the_cell(fresh_town_url)
    since = _last_audit_id(fresh_town_url)
    runs = [
        {"mode": "stale", "url": fresh_town_url, "child": child, "day": day.isoformat(), "unit": unit, "state": state}
        for state in STATES
    ]
    results = _at_once(tmp_path, runs)
    _never_locked(results)
    applied = [state for state, (code, _out, _err) in zip(STATES, results, strict=True) if code == 0]
    assert len(applied) == 1, results  # the first to take the write lock
    for code, out, err in results:
        assert (code == 0 and out.startswith("Appliqué")) or (code == 1 and STALE in err), (code, out, err)
    rows, entries = _cell_after(fresh_town_url, child, day, unit, since)
    (winner,) = applied
    if winner == "free":
        assert rows == []
    else:
        (row,) = rows
        assert (row.id, row.state, row.version) == (booking_id, BookingState(winner), 2)
    assert len(entries) == 1 and entries[0].after is not None
    assert entries[0].after["cells"][0].endswith(f" : {_label(None if winner == 'free' else winner)}")
    _sqlite_sound(fresh_town_url)


@SQLITE_TOWN
def test_four_regie_booking_set_at_once_each_applies_in_turn_or_is_refused(fresh_town_url, tmp_path):
    _ensure_os_agent(fresh_town_url)
    child, day, unit, _booking_id = _the_cell(fresh_town_url)
    since = _last_audit_id(fresh_town_url)
    runs = [
        {
            "mode": "cli",
            "argv": ["booking", "set", str(child), day.isoformat(), str(unit), state, "--db", fresh_town_url],
        }
        for state in STATES
    ]
    results = _at_once(tmp_path, runs)
    _never_locked(results)
    for code, out, err in results:
        assert (code == 0 and day.strftime("%d/%m/%Y") in out) or (code == 1 and "Refusé —" in err), (code, out, err)
    assert any(code == 0 for code, _out, _err in results)
    rows, entries = _cell_after(fresh_town_url, child, day, unit, since)
    assert len(rows) <= 1
    # One consistent history: each change starts from what the previous one left, and the
    # last one left what the cell holds now (no update lost between two processes).
    assert 1 <= len(entries) <= sum(code == 0 for code, _out, _err in results)
    assert entries[0].before is not None and entries[0].before["cells"][0].endswith(f" : {_label('reserved')}")
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert previous.after is not None and entry.before is not None
        assert entry.before["cells"] == previous.after["cells"]
    assert entries[-1].after is not None
    assert entries[-1].after["cells"][0].endswith(f" : {_label(rows[0].state.value if rows else None)}")
    _sqlite_sound(fresh_town_url)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_reader_never_waits_for_a_writer(engine):
    path = str(engine.url.database)
    with session_scope(engine, write=True) as writer:
        writer.connection().exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
    with session_scope(engine, write=True) as writer:
        writer.connection().exec_driver_sql("INSERT INTO probe VALUES (1)")  # holds the write lock, uncommitted
        # Another writer cannot begin now (no waiting: timeout 0)…
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        # …but a reader proceeds at once, on the last committed state.
        with session_scope(engine) as reader:
            assert reader.connection().exec_driver_sql("SELECT count(*) FROM probe").scalar_one() == 0
    with session_scope(engine) as reader:
        assert reader.connection().exec_driver_sql("SELECT count(*) FROM probe").scalar_one() == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_read_only_unit_of_work_does_not_take_the_write_lock(engine):
    path = str(engine.url.database)
    with session_scope(engine) as reader:
        reader.connection().exec_driver_sql("SELECT count(*) FROM agent").scalar_one()  # its transaction is open
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock is free
        other.execute("ROLLBACK")
        other.close()
