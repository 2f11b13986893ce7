"""Encaissements: the cash journal screen, the payment dialog, a family's financial situation."""
