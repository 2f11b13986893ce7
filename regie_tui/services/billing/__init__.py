"""Billing: rates and prices, number series, the monthly invoicing run and credit notes,
the invoice as a document, what families owe (accounts) and reminders."""
