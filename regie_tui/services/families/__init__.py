"""Families: search, the family file (read and edit), enrollments, the history, RGPD export and purge.

- ``search_words``: folding names, phones and e-mails into search words;
- ``search``: a family file's search words, families (and their children) found by word prefix, keyset pages;
- ``fields``: the editable fields of the family file: French labels, kinds, checks;
- ``file``: everything the fiche famille shows, alerts included;
- ``stamps``: versioned saves: a form's stamp, the family locked and checked, stale saves told, audit and version;
- ``edit``: validated, versioned, audited edits of the family file (people, payer, diets, consents, quotients);
- ``enrollments``: age on the first day against the group, places left, enrollment or waiting list;
- ``history``: a family's audit entries, filtered by kind and period, and its messages;
- ``rgpd_export``: everything held about a family, as JSON-ready data and files (audited);
- ``rgpd_purge``: the anonymisation of quiet archived families, the accounting records kept.
"""
