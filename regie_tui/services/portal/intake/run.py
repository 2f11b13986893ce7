"""The import of the portal's submissions file (shared/portal-submissions.md): the run.

Each non-blank line is one JSON object. A line is checked alone and is either stored whole
(one ``submission`` row, plus what its kind brings: a document and its file, a message, a
portal login, an audit entry) or rejected with its line number, its ``id`` when it could be
read, and one French reason; a bad line never blocks the good ones. Lines are validated
fully in Python against data prefetched per batch of lines (a few queries per batch, not
per line), then each batch is written with a handful of multi-row INSERTs. The caller
commits.

Decisions the contract leaves open:

- ``document_type`` is the integer id of the document type.
- A ``change`` with ``entity_id`` null adds an authorized person or a health note; its
  ``new`` is an object of fields (checked by ``family_fields.clean_new``); a health note's
  ``new`` also holds ``"child"``, the id of a child of this family. ``field`` is then
  required like everywhere but not used.
- The ``entity_id`` of entity ``family`` must be the family's own id.
- A booking cell's unit must belong to an activity in which the child has an ACCEPTED
  enrollment (``submission.activity_id`` is the activity of the first cell's unit; an
  enrollment's is its activity). The same (day, unit) twice in one line is rejected (the
  request would be ambiguous). Days are not checked against calendars or notice
  deadlines here: the bannette applies the booking rules when it decides.
- Old values (``old`` of a change) are not compared at import: the bannette shows
  whether the field still holds them.
- Optional keys may be left out; when present they must have their type (null is not
  "absent"). An enrollment's ``end_date`` may not precede its ``start_date``. An age group
  must be of the activity; the child's age is the bannette's business.
- A key given twice in one object is rejected (the line would be ambiguous), and so are
  ``NaN`` / ``Infinity``. A UTF-8 byte-order mark at the very start of the file is ignored.
- ``submitted_at`` must be a date-time with an offset, ``…THH:MM[:SS[.ffffff]]`` then
  ``Z`` or ``±HH:MM``, not after ``now``. ``paid_at`` has the same shape (the contract
  asks no more of it).
- A ``success`` payment may not exceed the invoice's balance due at the import (a cancelled
  invoice is due nothing); each line is checked against that balance alone. The bannette
  checks it again when it records the payment.
- The ``id`` of a rejection is reported only when it is a string of 1 to 64 characters.
- A summary never shows health information (a health document's summary leaves its file
  name out; ``health_note`` changes name the field,
  not its values): the bannette's lists are seen by roles that may not read it.
- Submissions are not audited one by one (the ``submission`` row is the record): a
  login and a refused payment are, as the history of the family, and so is each run of
  the import (action "import", entity "portal_import", with its counts).
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from regie_tui.errors import RegieError
from regie_tui.models import PortalImport, Source
from regie_tui.services.portal.intake.kinds import Prepared, Validator
from regie_tui.services.portal.intake.lines import (
    Parsed,
    Rejection,
    numbered_lines,
    parse_line,
    shown_filename,
    without_rejected,
)
from regie_tui.services.portal.intake.prefetch import Batch, Reference, prefetch
from regie_tui.services.portal.intake.schema import Rejected
from regie_tui.services.portal.intake.storing import store_files, write_batch
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

NDJSON = "application/x-ndjson"
BATCH_LINES = 1000  # lines validated against one prefetch, then written together
UNCHANGED_ID_REASON = "déjà reçue avec un autre contenu"


@dataclass(frozen=True)
class ImportSummary:
    read: int  # non-blank lines
    stored: int
    known: int  # same id, same content: already imported
    rejected: list[Rejection]

    def as_json(self) -> dict[str, Any]:
        """The contract's object for ``--json``."""
        return {
            "read": self.read,
            "stored": self.stored,
            "known": self.known,
            "rejected": [{"line": r.line, "id": r.id, "reason": r.reason} for r in self.rejected],
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected else 0


@dataclass
class _Tally:
    """The run's counts so far, and the lines it accepted (portal id → content sha256)."""

    read: int = 0
    stored: int = 0
    known: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)

    def summary(self) -> ImportSummary:
        return ImportSummary(read=self.read, stored=self.stored, known=self.known, rejected=self.rejected)


def import_submissions(
    db: Session, *, data: bytes, filename: str, agent: AgentInfo | None, now: datetime
) -> ImportSummary:
    """Check and store the lines of a portal file, imported by ``agent`` (a role the matrix
    gives the portal's import; None: the demo seed, as the system); the caller commits."""
    if agent is not None:
        agent.require(Permission.PORTAL_IMPORT)
    agent_id = agent.id if agent is not None else None
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    ref = Reference.load(db)
    tally = _Tally()
    numbered = list(numbered_lines(data))
    try:
        for start in range(0, len(numbered), BATCH_LINES):
            _import_batch(db, numbered[start : start + BATCH_LINES], ref=ref, now=now, tally=tally)
    except IntegrityError:
        raise RegieError(
            "Import interrompu : un autre import a enregistré les mêmes demandes au même moment. "
            "Rien n'a été enregistré ; relancez la commande."
        ) from None
    tally.rejected.sort(key=lambda r: r.line)
    _record_run(db, data, filename=filename, now=now, agent_id=agent_id, tally=tally)
    return tally.summary()


def _import_batch(
    db: Session, numbered: Iterable[tuple[int, bytes]], *, ref: Reference, now: datetime, tally: _Tally
) -> None:
    """Parse, check (against one prefetch) and write one batch of lines."""
    parsed: list[Parsed] = []
    for number, raw in numbered:
        tally.read += 1
        result = parse_line(number, raw)
        if isinstance(result, Rejection):
            tally.rejected.append(result)
        else:
            parsed.append(result)
    batch = prefetch(db, parsed)
    ready = _accepted(parsed, Validator(ref=ref, batch=batch, now=now), batch, tally)
    write_batch(db, ready)
    tally.stored += len(ready)


def _accepted(parsed: list[Parsed], validator: Validator, batch: Batch, tally: _Tally) -> list[Prepared]:
    """The lines of a batch ready to be written; an id already received is known (same content)
    or rejected (another content)."""
    ready: list[Prepared] = []
    for line in parsed:
        pid = line.portal_id
        previous = None if pid is None else tally.seen.get(pid, batch.known.get(pid))
        if previous is not None:
            if previous == line.sha256:
                tally.known += 1
            else:
                tally.rejected.append(Rejection(line.line, pid, UNCHANGED_ID_REASON))
            continue
        try:
            ready.append(validator.prepare(line))
        except Rejected as exc:
            tally.rejected.append(Rejection(line.line, pid, exc.reason))
            continue
        assert pid is not None
        tally.seen[pid] = line.sha256
    return ready


def _record_run(db: Session, data: bytes, *, filename: str, now: datetime, agent_id: int | None, tally: _Tally) -> None:
    """The file as kept, the run's row and its audit entry (with its counts)."""
    file_sha = hashlib.sha256(data).hexdigest()
    # Kept: what the accepted (and known) lines were, never a rejected line's bytes; the whole
    # file's own hash and size are in the run's audit entry.
    kept = without_rejected(data, (r.line for r in tally.rejected))
    kept_sha = hashlib.sha256(kept).hexdigest() if kept is not data else file_sha
    store_files(db, [(kept_sha, len(kept), NDJSON, kept)])
    run = PortalImport(
        file_sha256=kept_sha,
        filename=shown_filename(filename),
        imported_at=now,
        agent_id=agent_id,
        read=tally.read,
        stored=tally.stored,
        known=tally.known,
        rejected=len(tally.rejected),
    )
    db.add(run)
    db.flush()
    audit.record(
        db,
        action="import",
        entity="portal_import",
        entity_id=run.id,
        source=Source.AGENT if agent_id is not None else Source.SYSTEM,
        agent_id=agent_id,
        after={
            "file": run.filename,
            "sha256": file_sha,
            "bytes": len(data),
            "read": tally.read,
            "stored": tally.stored,
            "known": tally.known,
            "rejected": len(tally.rejected),
        },
        at=now,
    )
