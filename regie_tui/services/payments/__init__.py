"""Payments: money received at the desk, online or by direct debit, and where it goes.

- modes: the modes of payment, their French names and rules, a payment's state word;
- money_dates: the dates a payment, a cancellation or a rejection may carry (closed days);
- account: a family's credit and open invoices per régie, the régie a payment goes to;
- cesu: what CESU may pay (childcare of children under 6, no meals);
- allocation: the allocation plan (earlier credit first, the cash limit per invoice), written;
- recording: the one place a payment is written (desk, SEPA run, PayFiP), numbered by its receipt;
- undoing: cancelling or rejecting a payment (its invoices reopen);
- situation: a family's situation financière at a date;
- cash_journal: the cash journal of a day per régie, and closing it;
- receipts: what a payment's printed receipt says;
- sepa/: SEPA direct debit (mandates, export, batches, returns).
"""
