"""Families: search, the family file (read and edit, its fields and search words),
enrolments, the history, and the RGPD export and purge."""
