"""The family portal's side of the desk: what families send, the bannette, and what the régie sends back.

- ``intake``: the import of the portal's submissions file, line by line (its own modules);
- ``inbox``: the bannette: pending items listed, shown, accepted or refused (its own modules);
- ``pending``: what waits in the bannette, counted by kind;
- ``dashboard``: the tableau de bord's counters;
- ``messages``: a family's messages: read, answered through the outbox, marked done;
- ``outbox``: mails to families, queued with each decision; listed, shown, requeued;
- ``sending``: the outbox sent over SMTP, at most once per mail;
- ``publications``: structure documents and the news banner the portal shows.
"""
