"""covering indexes for the unpaid total on the dashboard

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 18:20:00
"""

from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_status_family_total', ['status', 'family_id', 'total_cents'], unique=False)

    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index('ix_allocation_invoice_amount', ['invoice_id', 'amount_cents'], unique=False)
        batch_op.drop_index('ix_allocation_invoice_id')


def downgrade() -> None:
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index('ix_allocation_invoice_id', ['invoice_id'], unique=False)
        batch_op.drop_index('ix_allocation_invoice_amount')

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_status_family_total')
