"""Two desks, one child, at the same time: nothing is lost, nothing silently overwritten.

PostgreSQL: the second save waits for the first (the child's row is locked), then sees
what it wrote and reports the clash. SQLite (one desk's database): the second writer is
refused at once with a French message, and writes nothing.
"""

import threading

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from regie_tui.errors import BUSY, error_message
from regie_tui.models import Agent, Role, Source
from regie_tui.services.bookings.cells import CellRequest, StaleCells
from regie_tui.services.bookings.planning import child_grid, save_edits
from regie_tui.services.bookings.rules import apply_cells
from regie_tui.services.common.sql import id_of
from regie_tui.services.trust.agents import AgentInfo

from booking_world import NOW, WED, build
from helpers import backend_of, wait_for_lock_waiters


def test_two_sessions_saving_the_same_child(engine, db_url):
    world = build(engine)
    lea = world.kids["Léa"]
    with Session(engine) as db:
        agent = db.get(Agent, world.agent)
        assert agent is not None
        me = AgentInfo(id=id_of(agent), login=agent.login, display_name=agent.display_name, role=Role.ACCUEIL)
        other = Agent(login="mdurand", display_name="Marc Durand", role=Role.REGISSEUR)
        db.add(other)
        db.commit()
        other_id = other.id
        grid = child_grid(db, child_id=lea, first=WED, last=WED, now=NOW)
    loaded = {(WED, world.matin): grid.cell(WED, world.matin).stamp}

    first = Session(engine)
    apply_cells(  # the other desk books Matin and has not committed yet
        first,
        child_id=lea,
        cells=[CellRequest(WED, world.matin, "book")],
        agent_id=other_id,
        source=Source.AGENT,
        now=NOW,
    )
    outcome: list[BaseException | None] = []

    def second_desk() -> None:
        with Session(engine) as db:
            try:
                save_edits(
                    db,
                    child_id=lea,
                    edits=[CellRequest(WED, world.matin, "book")],
                    loaded=loaded,
                    agent=me,
                    now=NOW,
                )
                db.commit()
                outcome.append(None)
            except (StaleCells, OperationalError) as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second_desk)
    thread.start()
    if backend_of(db_url) == "sqlite":
        thread.join(timeout=10)
        first.commit()
        first.close()
        assert len(outcome) == 1 and isinstance(outcome[0], OperationalError)
        assert error_message(outcome[0]) == BUSY
    else:
        wait_for_lock_waiters(db_url, 1)  # the second desk's save queues behind the first one's row lock
        assert thread.is_alive(), "the second desk must wait for the first one's transaction"
        first.commit()
        first.close()
        thread.join(timeout=10)
        assert len(outcome) == 1 and isinstance(outcome[0], StaleCells)
        assert [(c.unit_name, c.who) for c in outcome[0].clashes] == [("Matin", "Marc Durand")]
    with Session(engine) as db:
        after = child_grid(db, child_id=lea, first=WED, last=WED, now=NOW)
    assert after.cell(WED, world.matin).explanation.startswith("Réservée — par Marc Durand")


def test_a_deadlock_broken_by_postgresql_reads_as_a_busy_base():
    aborted = OperationalError("UPDATE place_count …", {}, Exception("deadlock detected"))
    assert error_message(aborted) == BUSY
