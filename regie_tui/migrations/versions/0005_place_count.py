"""place_count: places held per unit × day × age group, kept exact by triggers

The booking rules read the places held of a cell from this table instead of counting
bookings. Triggers keep it exact on every write, on both engines:

- booking INSERT / DELETE in a holding state: +1 / −1 for (unit, day, group of the enrolment);
- booking UPDATE of state (or unit, day, enrolment) into / out of a holding state: ±1;
- enrollment UPDATE of age_group_id: its held bookings move from the old group to the new one;
- enrollment DELETE: its held bookings are deleted first (the cascade would delete them
  anyway), so that their own trigger still finds the enrolment's group.

Rows are never deleted by the triggers (they fall to 0). The holding states are those of
``booking_rules.HOLDING`` at this revision.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

HOLDING = "('reserved', 'requested', 'present', 'present_special', 'absent_justified', 'absent_unjustified')"

BACKFILL = f"""
INSERT INTO place_count (unit_id, day, age_group_id, held)
SELECT b.unit_id, b.day, e.age_group_id, count(*)
FROM booking b JOIN enrollment e ON e.id = b.enrollment_id
WHERE b.state IN {HOLDING}
GROUP BY b.unit_id, b.day, e.age_group_id
"""

# A booking update that changes the counts: into / out of a holding state, or moved.
_MOVES = f"""(OLD.state IN {HOLDING}) <> (NEW.state IN {HOLDING})
    OR OLD.unit_id <> NEW.unit_id OR OLD.day <> NEW.day OR OLD.enrollment_id <> NEW.enrollment_id"""

# SQLite: one trigger body per event.
_SQLITE_ADD = f"""
    INSERT INTO place_count (unit_id, day, age_group_id, held)
    SELECT NEW.unit_id, NEW.day, e.age_group_id, 1 FROM enrollment e
    WHERE e.id = NEW.enrollment_id AND NEW.state IN {HOLDING}
    ON CONFLICT (unit_id, day, age_group_id) DO UPDATE SET held = held + 1;"""
_SQLITE_REMOVE = f"""
    UPDATE place_count SET held = held - 1
    WHERE OLD.state IN {HOLDING} AND unit_id = OLD.unit_id AND day = OLD.day
      AND age_group_id = (SELECT e.age_group_id FROM enrollment e WHERE e.id = OLD.enrollment_id);"""
_ENROLLMENT_HELD = f"SELECT b.unit_id, b.day FROM booking b WHERE b.enrollment_id = OLD.id AND b.state IN {HOLDING}"

SQLITE_TRIGGERS = {
    'place_count_booking_insert': f"""
CREATE TRIGGER place_count_booking_insert AFTER INSERT ON booking
WHEN NEW.state IN {HOLDING}
BEGIN{_SQLITE_ADD}
END""",
    'place_count_booking_delete': f"""
CREATE TRIGGER place_count_booking_delete AFTER DELETE ON booking
WHEN OLD.state IN {HOLDING}
BEGIN{_SQLITE_REMOVE}
END""",
    'place_count_booking_update': f"""
CREATE TRIGGER place_count_booking_update AFTER UPDATE OF state, unit_id, day, enrollment_id ON booking
WHEN {_MOVES}
BEGIN{_SQLITE_REMOVE}{_SQLITE_ADD}
END""",
    'place_count_enrollment_group': f"""
CREATE TRIGGER place_count_enrollment_group AFTER UPDATE OF age_group_id ON enrollment
WHEN OLD.age_group_id <> NEW.age_group_id
BEGIN
    UPDATE place_count SET held = held - 1
    WHERE age_group_id = OLD.age_group_id AND (unit_id, day) IN ({_ENROLLMENT_HELD});
    INSERT INTO place_count (unit_id, day, age_group_id, held)
    SELECT b.unit_id, b.day, NEW.age_group_id, 1 FROM booking b
    WHERE b.enrollment_id = NEW.id AND b.state IN {HOLDING}
    ON CONFLICT (unit_id, day, age_group_id) DO UPDATE SET held = held + 1;
END""",
    'place_count_enrollment_delete': f"""
CREATE TRIGGER place_count_enrollment_delete BEFORE DELETE ON enrollment
BEGIN
    DELETE FROM booking WHERE enrollment_id = OLD.id AND state IN {HOLDING};
END""",
}

# PostgreSQL: plpgsql functions, called by row triggers.
POSTGRESQL_FUNCTIONS = {
    'place_count_booking': f"""
CREATE FUNCTION place_count_booking() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.state IN {HOLDING} THEN
        UPDATE place_count p SET held = p.held - 1
        FROM enrollment e
        WHERE e.id = OLD.enrollment_id
          AND p.unit_id = OLD.unit_id AND p.day = OLD.day AND p.age_group_id = e.age_group_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state IN {HOLDING} THEN
        INSERT INTO place_count AS p (unit_id, day, age_group_id, held)
        SELECT NEW.unit_id, NEW.day, e.age_group_id, 1 FROM enrollment e WHERE e.id = NEW.enrollment_id
        ON CONFLICT (unit_id, day, age_group_id) DO UPDATE SET held = p.held + 1;
    END IF;
    RETURN NULL;
END
$$""",
    'place_count_enrollment_group': f"""
CREATE FUNCTION place_count_enrollment_group() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE place_count p SET held = p.held - 1
    FROM booking b
    WHERE b.enrollment_id = OLD.id AND b.state IN {HOLDING}
      AND p.unit_id = b.unit_id AND p.day = b.day AND p.age_group_id = OLD.age_group_id;
    INSERT INTO place_count AS p (unit_id, day, age_group_id, held)
    SELECT b.unit_id, b.day, NEW.age_group_id, 1 FROM booking b
    WHERE b.enrollment_id = NEW.id AND b.state IN {HOLDING}
    ON CONFLICT (unit_id, day, age_group_id) DO UPDATE SET held = p.held + 1;
    RETURN NULL;
END
$$""",
    'place_count_enrollment_delete': f"""
CREATE FUNCTION place_count_enrollment_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM booking WHERE enrollment_id = OLD.id AND state IN {HOLDING};
    RETURN OLD;
END
$$""",
}
POSTGRESQL_TRIGGERS = {
    'place_count_booking_insert': f"""
CREATE TRIGGER place_count_booking_insert AFTER INSERT ON booking
FOR EACH ROW WHEN (NEW.state IN {HOLDING}) EXECUTE FUNCTION place_count_booking()""",
    'place_count_booking_delete': f"""
CREATE TRIGGER place_count_booking_delete AFTER DELETE ON booking
FOR EACH ROW WHEN (OLD.state IN {HOLDING}) EXECUTE FUNCTION place_count_booking()""",
    'place_count_booking_update': f"""
CREATE TRIGGER place_count_booking_update AFTER UPDATE OF state, unit_id, day, enrollment_id ON booking
FOR EACH ROW WHEN ({_MOVES}) EXECUTE FUNCTION place_count_booking()""",
    'place_count_enrollment_group': """
CREATE TRIGGER place_count_enrollment_group AFTER UPDATE OF age_group_id ON enrollment
FOR EACH ROW WHEN (OLD.age_group_id <> NEW.age_group_id) EXECUTE FUNCTION place_count_enrollment_group()""",
    'place_count_enrollment_delete': """
CREATE TRIGGER place_count_enrollment_delete BEFORE DELETE ON enrollment
FOR EACH ROW EXECUTE FUNCTION place_count_enrollment_delete()""",
}
TRIGGER_TABLES = {
    'place_count_booking_insert': 'booking',
    'place_count_booking_delete': 'booking',
    'place_count_booking_update': 'booking',
    'place_count_enrollment_group': 'enrollment',
    'place_count_enrollment_delete': 'enrollment',
}


def upgrade() -> None:
    op.create_table('place_count',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('age_group_id', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.CheckConstraint('held >= 0', name=op.f('ck_place_count_held')),
    sa.ForeignKeyConstraint(['age_group_id'], ['age_group.id'], name=op.f('fk_place_count_age_group_id_age_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_place_count_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', 'day', 'age_group_id', name=op.f('pk_place_count'))
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == 'postgresql':
        for sql in (*POSTGRESQL_FUNCTIONS.values(), *POSTGRESQL_TRIGGERS.values()):
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name, table in TRIGGER_TABLES.items():
        op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}' if postgresql else f'DROP TRIGGER IF EXISTS {name}')
    if postgresql:
        for name in POSTGRESQL_FUNCTIONS:
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
    op.drop_table('place_count')
