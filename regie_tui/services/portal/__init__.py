"""The family portal's side of the desk: the import of its submissions (intake), the
bannette and its decisions, what is pending, messages, the outbox of e-mails to families,
publications, and the dashboard's counters."""
