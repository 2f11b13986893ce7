"""Bounds the database itself sets, checked before it is asked (a light module: the CLI's parser reads it)."""

#: The largest id of a record: PostgreSQL's INTEGER, the narrower of the two engines
#: (SQLite would take 2**63 - 1, PostgreSQL raises beyond this).
ID_MAX = 2**31 - 1
