"""billing: runs, line bases, packages, credit-note lines, reminders, cash days, direct debits

- rate.package_cents: the price of the package (forfait, per week) a unit's booking triggers;
- charge and invoice_line kinds gain 'package'; a charge records its unit, rate and bracket; a booking is billed once per kind
  (unique index on charge (booking_id, kind));
- billing_run records each invoicing run; invoice.run_id points to it;
- invoice_line records the rate and bracket it came from, and why (basis);
- credit_note_line: the invoice lines a credit note gives back (billable again);
- reminder: relances of overdue invoices (levels 1 to 3);
- payment: the cheque's bank; cancellation at the desk (date, reason, agent);
- cash_day: a closed day of a régie's cash journal;
- debit_batch and direct_debit: SEPA files exported and the invoices they collect;
  regie.sepa_iban / sepa_bic: the account a régie's direct debits go to.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

KINDS_BEFORE = "'service', 'unbooked_surcharge', 'absence_penalty', 'adjustment'"
KINDS_AFTER = KINDS_BEFORE + ", 'package'"


def _set_kinds(table: str, enum_name: str, kinds: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{enum_name}'), type_='check')
        batch_op.create_check_constraint(op.f(f'ck_{table}_{enum_name}'), f'kind IN ({kinds})')


def upgrade() -> None:
    op.create_table('billing_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('regie_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('invoice_count', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('first_number', sa.String(length=30), nullable=True),
    sa.Column('last_number', sa.String(length=30), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_billing_run_agent_id_agent')),
    sa.ForeignKeyConstraint(['regie_id'], ['regie.id'], name=op.f('fk_billing_run_regie_id_regie')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_run'))
    )
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.create_index('ix_billing_run_regie_month', ['regie_id', 'month'], unique=False)

    op.create_table('cash_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('regie_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('payment_count', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['agent.id'], name=op.f('fk_cash_day_closed_by_id_agent')),
    sa.ForeignKeyConstraint(['regie_id'], ['regie.id'], name=op.f('fk_cash_day_regie_id_regie')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_day')),
    sa.UniqueConstraint('regie_id', 'day', name=op.f('uq_cash_day_regie_id_day'))
    )
    op.create_table('debit_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('regie_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('transaction_count', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['agent.id'], name=op.f('fk_debit_batch_created_by_id_agent')),
    sa.ForeignKeyConstraint(['regie_id'], ['regie.id'], name=op.f('fk_debit_batch_regie_id_regie')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debit_batch')),
    sa.UniqueConstraint('message_id', name=op.f('uq_debit_batch_message_id'))
    )
    op.create_table('direct_debit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Enum('FRST', 'RCUR', 'OOFF', 'FNAL', name='debit_sequence', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('rejected_on', sa.Date(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_direct_debit_amount_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['debit_batch.id'], name=op.f('fk_direct_debit_batch_id_debit_batch')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_direct_debit_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_direct_debit_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_direct_debit_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_direct_debit')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_direct_debit_end_to_end_id'))
    )
    with op.batch_alter_table('direct_debit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_direct_debit_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_direct_debit_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_direct_debit_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index('uq_direct_debit_invoice_live', ['invoice_id'], unique=True, sqlite_where=sa.text('rejected_on IS NULL'), postgresql_where=sa.text('rejected_on IS NULL'))

    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('balance_cents', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('level between 1 and 3', name=op.f('ck_reminder_level_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['agent.id'], name=op.f('fk_reminder_created_by_id_agent')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_reminder_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder')),
    sa.UniqueConstraint('invoice_id', 'level', name=op.f('uq_reminder_invoice_id_level'))
    )
    op.create_table('credit_note_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_note_id', sa.Integer(), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_credit_note_line_amount_positive')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['credit_note.id'], name=op.f('fk_credit_note_line_credit_note_id_credit_note'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_line.id'], name=op.f('fk_credit_note_line_invoice_line_id_invoice_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_note_line')),
    sa.UniqueConstraint('invoice_line_id', name=op.f('uq_credit_note_line_invoice_line_id'))
    )
    with op.batch_alter_table('credit_note_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_note_line_credit_note_id'), ['credit_note_id'], unique=False)

    _set_kinds('charge', 'charge_kind', KINDS_AFTER)
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rate_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('bracket_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_charge_unit_id_unit'), 'unit', ['unit_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_charge_rate_id_rate'), 'rate', ['rate_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_charge_bracket_id_qf_bracket'), 'qf_bracket', ['bracket_id'], ['id'])
        batch_op.create_index('uq_charge_booking_kind', ['booking_id', 'kind'], unique=True, sqlite_where=sa.text('booking_id IS NOT NULL'), postgresql_where=sa.text('booking_id IS NOT NULL'))

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_run_id_billing_run'), 'billing_run', ['run_id'], ['id'])

    _set_kinds('invoice_line', 'invoice_line_kind', KINDS_AFTER)
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('bracket_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('basis', sa.String(length=200), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_line_rate_id_rate'), 'rate', ['rate_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_invoice_line_bracket_id_qf_bracket'), 'qf_bracket', ['bracket_id'], ['id'])
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.alter_column('basis', server_default=None)

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('cancelled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_cancelled_by_id_agent'), 'agent', ['cancelled_by_id'], ['id'])
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.alter_column('bank', server_default=None)

    with op.batch_alter_table('regie', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sepa_iban', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('sepa_bic', sa.String(length=11), nullable=True))

    with op.batch_alter_table('rate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('package_cents', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_rate_package_positive'), 'package_cents IS NULL OR package_cents >= 0')


def downgrade() -> None:
    with op.batch_alter_table('regie', schema=None) as batch_op:
        batch_op.drop_column('sepa_bic')
        batch_op.drop_column('sepa_iban')

    with op.batch_alter_table('rate', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rate_package_positive'), type_='check')
        batch_op.drop_column('package_cents')

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_cancelled_by_id_agent'), type_='foreignkey')
        batch_op.drop_column('cancelled_by_id')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_on')
        batch_op.drop_column('bank')

    op.execute("DELETE FROM charge WHERE kind = 'package'")
    op.execute("DELETE FROM invoice_line WHERE kind = 'package'")
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_line_bracket_id_qf_bracket'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_invoice_line_rate_id_rate'), type_='foreignkey')
        batch_op.drop_column('basis')
        batch_op.drop_column('bracket_id')
        batch_op.drop_column('rate_id')
    _set_kinds('invoice_line', 'invoice_line_kind', KINDS_BEFORE)

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_run_id_billing_run'), type_='foreignkey')
        batch_op.drop_column('run_id')

    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_index('uq_charge_booking_kind', sqlite_where=sa.text('booking_id IS NOT NULL'), postgresql_where=sa.text('booking_id IS NOT NULL'))
        batch_op.drop_constraint(batch_op.f('fk_charge_bracket_id_qf_bracket'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_charge_rate_id_rate'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_charge_unit_id_unit'), type_='foreignkey')
        batch_op.drop_column('bracket_id')
        batch_op.drop_column('rate_id')
        batch_op.drop_column('unit_id')
    _set_kinds('charge', 'charge_kind', KINDS_BEFORE)

    with op.batch_alter_table('credit_note_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_note_line_credit_note_id'))
    op.drop_table('credit_note_line')
    op.drop_table('reminder')
    with op.batch_alter_table('direct_debit', schema=None) as batch_op:
        batch_op.drop_index('uq_direct_debit_invoice_live', sqlite_where=sa.text('rejected_on IS NULL'), postgresql_where=sa.text('rejected_on IS NULL'))
        batch_op.drop_index(batch_op.f('ix_direct_debit_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_direct_debit_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_direct_debit_batch_id'))
    op.drop_table('direct_debit')
    op.drop_table('debit_batch')
    op.drop_table('cash_day')
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_run_regie_month')
    op.drop_table('billing_run')
