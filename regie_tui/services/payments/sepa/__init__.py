"""SEPA direct debit (prélèvement), one module each:

- mandates: the RUM, the next sequence type (FRST → RCUR, OOFF), the 36-month lapse; create, find, list, revoke;
- export: the month's open invoices of families with a mandate, put in a debit batch with their payments;
- batches: a batch's pain.008 content read back, the régie's account, an invoice's live collection;
- returns: debits returned unpaid, by hand or from the bank's pain.002 report (the payment rejected).
"""
