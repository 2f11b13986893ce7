"""Payments: money received at the desk or online, its allocation to invoices, the cash
journal and its closed days (ledger), and SEPA direct debits (sepa)."""
