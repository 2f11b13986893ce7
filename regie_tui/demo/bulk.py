"""Bulk loading for the demo town: plain tuples straight to the driver, in one transaction.

SQLite gets ``executemany`` on the raw ``sqlite3`` cursor, PostgreSQL gets ``COPY``
through psycopg. Values must already be in the driver's form, which :class:`Formats`
gives for days, times and instants (SQLite stores them as the text SQLAlchemy writes,
so that ORM reads work unchanged).
"""

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.engine import Connection

# A row of a table: its values in COLUMNS order, already in the driver's form (see Formats).
Row = tuple[Any, ...]

# Column order of the tuples each table receives.
COLUMNS: dict[str, tuple[str, ...]] = {
    "town": (
        "id",
        "name",
        "service_name",
        "address",
        "postal_code",
        "city",
        "phone",
        "email",
        "school_zone",
        "appeal_notice",
    ),
    "regie": (
        "id",
        "code",
        "name",
        "invoice_prefix",
        "sepa_creditor_id",
        "payfip_client_number",
        "sepa_iban",
        "sepa_bic",
    ),
    "agent": ("id", "login", "display_name", "role", "active", "created_at"),
    "day_off": ("day", "kind", "name"),
    "facility": ("id", "name", "kind", "address"),
    "activity": (
        "id",
        "regie_id",
        "facility_id",
        "name",
        "kind",
        "start_date",
        "end_date",
        "notice_days",
        "notice_time",
        "notice_business_days",
        "portal_booking",
    ),
    "activity_period": ("id", "activity_id", "name", "start_date", "end_date", "weekdays"),
    "unit": ("id", "activity_id", "name", "start_time", "end_time", "position", "package"),
    "unit_rule": ("id", "unit_id", "other_unit_id", "kind"),
    "age_group": ("id", "activity_id", "name", "min_age", "max_age", "position"),
    "capacity": ("id", "age_group_id", "unit_id", "day", "places"),
    "closure": ("id", "activity_id", "day", "reason"),
    "qf_bracket": ("id", "name", "min_qf", "max_qf", "resident", "position"),
    "rate": (
        "id",
        "unit_id",
        "bracket_id",
        "valid_from",
        "amount_cents",
        "unbooked_surcharge_cents",
        "absence_penalty_cents",
        "package_cents",
    ),
    "diet": ("id", "code", "label", "health"),
    "document_type": ("id", "name", "scope", "required", "validity_months", "health"),
    "stored_file": ("sha256", "size", "media_type", "content"),
    "news": ("id", "title", "body", "published_from", "published_to"),
    "structure_document": ("id", "title", "description", "file_sha256", "filename", "published_on", "to_return"),
    "family": (
        "id",
        "name",
        "name_key",
        "address",
        "address_extra",
        "postal_code",
        "city",
        "resident",
        "notes",
        "created_at",
        "updated_at",
        "archived_at",
        "version",
    ),
    "family_search_word": ("word", "family_id"),
    "guardian": (
        "id",
        "family_id",
        "last_name",
        "first_name",
        "relationship",
        "is_payer",
        "mobile_phone",
        "home_phone",
        "work_phone",
        "email",
        "employer",
        "version",
    ),
    "child": ("id", "family_id", "last_name", "first_name", "birth_date", "sex", "school", "school_class", "version"),
    "authorized_person": (
        "id",
        "family_id",
        "last_name",
        "first_name",
        "relationship",
        "phone",
        "may_collect",
        "emergency_contact",
        "version",
    ),
    "child_diet": ("child_id", "diet_id"),
    "health_note": ("id", "child_id", "kind", "text", "sensitive", "valid_until", "version"),
    "consent": ("id", "family_id", "kind", "granted", "at"),
    "portal_account": ("id", "family_id", "email", "activated_at", "stay_signed_in"),
    "portal_login": ("id", "account_id", "at", "succeeded"),
    "document": (
        "id",
        "family_id",
        "child_id",
        "document_type_id",
        "file_sha256",
        "filename",
        "status",
        "source",
        "submitted_at",
        "valid_from",
        "valid_to",
        "decided_by_id",
        "decided_at",
        "refusal_reason",
        "version",
    ),
    "family_quotient": ("id", "family_id", "value", "source", "valid_from", "valid_to", "document_id"),
    "enrollment": (
        "id",
        "child_id",
        "activity_id",
        "age_group_id",
        "status",
        "source",
        "requested_at",
        "decided_by_id",
        "decided_at",
        "reason",
        "version",
    ),
    # No id: the database numbers bookings in insertion order (see BulkWriter.restart_ids).
    # Day and unit first: a child's cells are sorted as plain tuples.
    "booking": (
        "day",
        "unit_id",
        "child_id",
        "enrollment_id",
        "state",
        "source",
        "changed_by_id",
        "changed_at",
        "version",
    ),
    "invoice": (
        "id",
        "number",
        "regie_id",
        "family_id",
        "period_start",
        "period_end",
        "issue_date",
        "due_date",
        "total_cents",
        "status",
        "debtor_name",
        "debtor_address",
        "created_by_id",
        "created_at",
    ),
    "invoice_line": (
        "id",
        "invoice_id",
        "position",
        "child_id",
        "unit_id",
        "kind",
        "label",
        "dates",
        "quantity",
        "unit_price_cents",
        "amount_cents",
        "rate_id",
        "bracket_id",
        "basis",
    ),
    "credit_note": (
        "id",
        "number",
        "invoice_id",
        "issue_date",
        "amount_cents",
        "reason",
        "created_by_id",
        "created_at",
    ),
    "number_sequence": ("id", "series", "last_value"),
    "mandate": (
        "id",
        "family_id",
        "regie_id",
        "rum",
        "debtor_name",
        "debtor_address",
        "iban",
        "bic",
        "signed_on",
        "recurrent",
        "next_sequence",
        "last_used_on",
        "revoked_on",
        "created_at",
    ),
    "payment": (
        "id",
        "receipt_number",
        "family_id",
        "regie_id",
        "mode",
        "amount_cents",
        "received_on",
        "reference",
        "payer_name",
        "created_by_id",
        "created_at",
        "bank",
    ),
    "allocation": ("id", "payment_id", "invoice_id", "amount_cents"),
    "message": (
        "id",
        "family_id",
        "direction",
        "recipient",
        "subject",
        "body",
        "sent_at",
        "read_at",
        "read_by_id",
        "reply_to_id",
    ),
    "audit_entry": ("id", "at", "agent_id", "source", "action", "entity", "entity_id", "family_id", "before", "after"),
}


def rebuilt_after_load(table: str) -> tuple[str, ...]:
    """What the triggers of ``table`` maintain, rebuilt from scratch (BulkWriter.load_deferred).

    A table with triggers must be listed here: loading it without them would leave their
    derived rows wrong.
    """
    if table != "booking":
        raise ValueError(f"{table}: triggers without a rebuild after a bulk load")
    from regie_tui.services.bookings.cells import HOLDING

    states = ", ".join(f"'{state.value}'" for state in sorted(HOLDING))
    return (
        "DELETE FROM place_count",
        "INSERT INTO place_count (unit_id, day, age_group_id, held) "
        "SELECT b.unit_id, b.day, e.age_group_id, count(*) FROM booking b JOIN enrollment e ON e.id = b.enrollment_id "
        f"WHERE b.state IN ({states}) GROUP BY b.unit_id, b.day, e.age_group_id",
    )


# A batch: rows for several tables, in foreign-key order; ``checked`` as in BulkWriter.insert.
Batch = list[tuple[str, list[Row], bool]]


class Formats:
    """Values in the form the driver takes; plain data, so a generator process can have one too."""

    def __init__(self, postgresql: bool) -> None:
        self.postgresql = postgresql

    def day(self, value: date | None) -> Any:
        """A date (SQLite: ISO text, as SQLAlchemy stores it)."""
        if value is None or self.postgresql:
            return value
        return value.isoformat()

    def instant(self, value: datetime | None) -> Any:
        """An aware instant, stored in UTC (SQLite: SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff')."""
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value if self.postgresql else value.isoformat(" ", "microseconds")[:26]  # without "+00:00"

    def time(self, value: time) -> Any:
        return value if self.postgresql else value.strftime("%H:%M:%S.%f")

    @staticmethod
    def json(value: dict[str, Any] | None) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)


class BulkWriter(Formats):
    """Appends rows to tables on the caller's connection (and so in its transaction)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection.dialect.name == "postgresql")
        self._raw: Any = connection.connection.driver_connection  # sqlite3's or psycopg's connection
        self.counts: Counter[str] = Counter()

    def write(self, batch: Batch) -> None:
        for table, rows, checked in batch:
            self.insert(table, rows, checked=checked)

    def insert(self, table: str, rows: Sequence[Row], *, checked: bool = True) -> None:
        """Append ``rows`` (tuples in COLUMNS order) to ``table``.

        ``checked=False`` skips SQLite's CHECK constraints for rows valid by construction:
        SQLite rebuilds the value list of each ``IN (…)`` check for every row, which
        costs more than the rest of the insert. Keys and NOT NULL stay checked.
        """
        if not rows:
            return
        columns = COLUMNS[table]
        names = ", ".join(f'"{c}"' for c in columns)
        if self.postgresql:
            with self._raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cursor = self._raw.cursor()
            try:
                if not checked:
                    cursor.execute("PRAGMA ignore_check_constraints = ON")
                cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
            finally:
                if not checked:
                    cursor.execute("PRAGMA ignore_check_constraints = OFF")
                cursor.close()
        self.counts[table] += len(rows)

    @contextmanager
    def load_deferred(self, table: str) -> Iterator[None]:
        """Drop the table's secondary indexes for the load and build them once at the end.

        On PostgreSQL the foreign keys are dropped too and added back at the end, where
        PostgreSQL checks them in one pass instead of one trigger call per row (SQLite
        loads with foreign keys off, see ``demo.seed._sqlite_bulk_mode``). Keys (primary,
        unique) stay, so duplicates are still refused. The table's own triggers are off
        for the load too (SQLite: dropped and created again; PostgreSQL: disabled), and
        what they maintain is rebuilt in one statement at the end (:func:`rebuilt_after_load`).
        DDL is transactional on both engines: a failed load leaves the table as it was.
        """
        if self.postgresql:
            regclass = f"'\"{table}\"'::regclass"
            foreign_keys = self._query(
                f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {regclass} "
                "AND contype = 'f' ORDER BY conname"
            )
            indexes = self._query(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                f"AND tablename = '{table}' AND indexname NOT IN "
                f"(SELECT conname FROM pg_constraint WHERE conrelid = {regclass}) ORDER BY indexname"
            )
            triggers = self._query(
                f"SELECT tgname, '' FROM pg_trigger WHERE tgrelid = {regclass} AND NOT tgisinternal ORDER BY tgname"
            )
        else:
            foreign_keys = []
            indexes = self._query(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' "
                "AND sql IS NOT NULL ORDER BY name"
            )
            triggers = self._query(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '{table}' ORDER BY name"
            )
        for name, _ in foreign_keys:
            self._execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            self._execute(f'DROP INDEX "{name}"')
        for name, _ in triggers:
            if self.postgresql:
                self._execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
            else:
                self._execute(f'DROP TRIGGER "{name}"')
        yield
        for _, sql in indexes:
            self._execute(sql)
        if triggers:
            for sql in rebuilt_after_load(table):
                self._execute(sql)
        for name, sql in triggers:
            if self.postgresql:
                self._execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
            else:
                self._execute(sql)
        for name, definition in foreign_keys:
            self._execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

    def restart_ids(self, table: str) -> None:
        """Make the next generated id of an empty table 1 (PostgreSQL sequences survive rollbacks)."""
        if self.postgresql:
            self._execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), 1, false)")

    def sync_sequences(self) -> None:
        """After explicit ids, move each PostgreSQL sequence past the largest id."""
        if not self.postgresql:
            return
        for table, columns in COLUMNS.items():
            if columns[0] == "id" and self.counts[table]:
                self._execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), max(id)) FROM \"{table}\"")

    def _execute(self, sql: str) -> None:
        self._query(sql)

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()
