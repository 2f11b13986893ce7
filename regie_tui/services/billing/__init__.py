"""Billing: what the régie charges families, and what they owe.

- pricing: the quotient-familial brackets, a family's bracket, a line's amount rounded once;
- rates: the rates grid at a date, a unit's history, setting a rate (administrators);
- numbering: invoice, receipt and credit-note numbers and their series;
- invoicing: the monthly run of a régie (issued, or previewed and rolled back), its steps in:
- run_tables: the run's temporary working tables and the SQL its steps share;
- run_prices: each family's bracket and each unit's rate over the billed days;
- run_items: the prestations to bill (one item per booking and kind, packages per week), their charges;
- run_invoices: invoices and their lines, numbered and audited;
- run_anomalies: what the agent should look at before issuing;
- credit_notes: credit notes (avoirs) cancelling or reducing an issued invoice;
- accounts: invoice balances after payments and credit notes, a family's invoices, what it owes;
- document: an invoice as its PDF and screen print it (a month of them in a few queries);
- document_json: that document as ``regie invoices show --json`` prints it;
- reminders: overdue invoices by age, reminders sent and recorded.
"""
