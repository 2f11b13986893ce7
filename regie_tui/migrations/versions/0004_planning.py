"""planning: a unit whose booking triggers a package (forfait); bookings by unit and day covering

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 16:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('package', sa.String(length=80), nullable=True))

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_unit_day')
        batch_op.create_index('ix_booking_unit_day', ['unit_id', 'day', 'state', 'enrollment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_unit_day')
        batch_op.create_index('ix_booking_unit_day', ['unit_id', 'day'], unique=False)

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('package')
