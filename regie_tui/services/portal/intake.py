"""The portal's submissions file (shared/portal-submissions.md), checked line by line and stored.

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
  enrolment (``submission.activity_id`` is the activity of the first cell's unit; an
  enrolment's is its activity). The same (day, unit) twice in one line is rejected (the
  request would be ambiguous). Days are not checked against calendars or notice
  deadlines here: the bannette applies the booking rules when it decides.
- Old values (``old`` of a change) are not compared at import: the bannette shows
  whether the field still holds them.
- Optional keys may be left out; when present they must have their type (null is not
  "absent"). An enrolment's ``end_date`` may not precede its ``start_date``. An age group
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

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from regie_tui import formatting
from regie_tui.clock import PARIS
from regie_tui.errors import RegieError
from regie_tui.limits import ID_MAX
from regie_tui.models import (
    Activity,
    AgeGroup,
    AuthorizedPerson,
    Child,
    Document,
    DocumentScope,
    DocumentStatus,
    DocumentType,
    Enrollment,
    EnrollmentStatus,
    Family,
    Guardian,
    HealthNote,
    Invoice,
    Message,
    MessageDirection,
    PortalAccount,
    PortalImport,
    PortalLogin,
    Source,
    StoredFile,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    Unit,
)
from regie_tui.services.billing.accounts import invoice_balances
from regie_tui.services.common import validation as v
from regie_tui.services.common.sql import id_col, select_columns
from regie_tui.services.families.fields import ENTITY_LABELS, FieldSpec, clean_new, field_spec, portal_field, shown
from regie_tui.services.trust import audit
from regie_tui.services.trust.access import Permission
from regie_tui.services.trust.agents import AgentInfo

NDJSON = "application/x-ndjson"
MAX_CELLS = 400
BATCH_LINES = 1000  # lines validated against one prefetch, then written together
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
EXAMPLE_INSTANT = "2026-11-23T08:15:00+01:00"
SUMMARY_MAX = 300
#: A line longer than this is rejected unread: more than any legal one (a 10 MB document is
#: 13.4 MB in base64), and parsing it would only spend memory.
MAX_LINE_BYTES = 15 * 1024 * 1024
#: The deepest nesting of a legal line is 3 (a booking's cells); deeper is rejected, and a
#: line too deep for the JSON parser itself (100,000 "[") is rejected as well.
MAX_DEPTH = 8
UNCHANGED_ID_REASON = "déjà reçue avec un autre contenu"


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Rejection:
    line: int  # 1-based, counting every line of the file, blank ones included
    id: str | None
    reason: str


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


# ------------------------------------------------------------------------ key schemas


class Expect(NamedTuple):
    ok: Callable[[Any], bool]
    what: str  # French, after "doit être"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


STRING = Expect(lambda x: isinstance(x, str), "une chaîne de caractères")
INTEGER = Expect(_is_int, "un nombre entier")
INTEGER_OR_NULL = Expect(lambda x: x is None or _is_int(x), "un nombre entier ou null")
LIST = Expect(lambda x: isinstance(x, list), "une liste")
OLD_VALUE = Expect(lambda x: x is None or isinstance(x, (str, bool)), "une chaîne, un booléen ou null")
NEW_VALUE = Expect(lambda x: x is None or isinstance(x, (str, bool, dict)), "une chaîne, un booléen, null ou un objet")

COMMON: dict[str, Expect] = {
    "id": STRING,
    "kind": STRING,
    "family": INTEGER,
    "account": STRING,
    "submitted_at": STRING,
}
# kind -> (required keys, optional keys), besides COMMON
KIND_KEYS: dict[str, tuple[dict[str, Expect], dict[str, Expect]]] = {
    "change": (
        {"entity": STRING, "entity_id": INTEGER_OR_NULL, "field": STRING, "old": OLD_VALUE, "new": NEW_VALUE},
        {},
    ),
    "new_child": (
        {"first_name": STRING, "last_name": STRING, "birth_date": STRING, "sex": STRING},
        {"school": STRING, "school_class": STRING},
    ),
    "enrolment": (
        {"child": INTEGER, "activity": INTEGER, "age_group": INTEGER},
        {"start_date": STRING, "end_date": STRING, "comment": STRING},
    ),
    "booking": ({"child": INTEGER, "cells": LIST}, {}),
    "document": (
        {"document_type": INTEGER, "filename": STRING, "media_type": STRING, "content_base64": STRING},
        {"child": INTEGER},
    ),
    "message": ({"subject": STRING, "body": STRING}, {"recipient": STRING}),
    "payment": (
        {"invoice": STRING, "amount_cents": INTEGER, "paid_at": STRING, "reference": STRING, "result": STRING},
        {},
    ),
    "login": ({}, {}),
}
CELL_KEYS = ("day", "unit", "action")


class Rejected(Exception):
    """One line refused; ``reason`` is the French sentence reported."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = _lower_first(reason)


def _lower_first(text: str) -> str:
    """Reasons follow "ligne N : ", so they start in lower case (but not an acronym: "PAI")."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _listing(keys: Iterable[str]) -> str:
    return ", ".join(f"« {k} »" for k in sorted(keys))


# ---------------------------------------------------------------------------- parsing


@dataclass
class Parsed:
    line: int
    obj: dict[str, Any]
    portal_id: str | None
    sha256: str


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object (the line would be ambiguous)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def canonical_sha256(obj: Any) -> str:
    """The fingerprint of a line: SHA-256 of its canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _valid_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("id")
    return value if isinstance(value, str) and 1 <= len(value) <= 64 else None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH, told before parsing:
    the JSON parser must never meet 100,000 "[" (its RecursionError leaves the interpreter
    unsteady)."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _parse(number: int, raw: bytes) -> Parsed | Rejection:
    if len(raw) > MAX_LINE_BYTES:
        size = formatting.number(round(Decimal(len(raw)) / 1024 / 1024, 1))
        return Rejection(number, None, f"ligne trop longue ({size} Mo, 15 Mo au plus) : elle n'est pas lue.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(number, None, f"ligne non valide en UTF-8 (octet {exc.start + 1}).")
    if _too_deep(text):
        return Rejection(number, None, f"JSON trop imbriqué ({MAX_DEPTH} niveaux au plus).")
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        return Rejection(number, None, f"clé « {exc} » donnée deux fois.")
    except json.JSONDecodeError as exc:
        return Rejection(number, None, f"JSON invalide (colonne {exc.colno}).")
    except ValueError as exc:
        return Rejection(number, None, f"JSON invalide : {exc} n'est pas un nombre admis.")
    if not isinstance(obj, dict):
        return Rejection(number, None, "la ligne doit être un objet JSON { … }.")
    portal_id = _valid_id(obj)
    if "\\u0000" in text and _has_nul(obj):
        return Rejection(number, portal_id, "la ligne contient un caractère nul (\\u0000).")
    try:
        sha256 = canonical_sha256(obj)
    except UnicodeEncodeError:
        return Rejection(number, portal_id, "la ligne contient un caractère Unicode invalide (\\ud800 à \\udfff seul).")
    return Parsed(number, obj, portal_id, sha256)


def _has_nul(value: Any) -> bool:
    """Whether a NUL character hides in a key or string (PostgreSQL text cannot hold it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(1-based number, bytes) of each non-blank line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield number, raw.rstrip(b"\r")


def _kept(data: bytes, rejected: Iterable[int]) -> bytes:
    """The file as it is kept: every rejected line emptied (the others keep their numbers),
    so that a rejected line's bytes never reach the database."""
    blank = set(rejected)
    if not blank:
        return data
    lines = data.split(b"\n")
    for number in blank:
        lines[number - 1] = b""
    return b"\n".join(lines)


def _shown_filename(name: str) -> str:
    """A file's name fit to store: bytes that were not UTF-8 and control characters replaced."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("?" if not (ch.isprintable() or ch == " ") else ch for ch in text)[:200]


# --------------------------------------------------------------------------- prefetch


class Person(NamedTuple):
    family_id: int
    name: str


class FamilyRow(NamedTuple):
    name: str
    archived: bool
    account_id: int | None
    email: str | None


@dataclass
class Reference:
    """Small tables read once per run."""

    activities: dict[int, str]
    age_groups: dict[int, tuple[int, str]]  # id -> (activity id, name)
    document_types: dict[int, tuple[str, DocumentScope, bool]]  # name, scope, health

    @classmethod
    def load(cls, db: Session) -> "Reference":
        return cls(
            activities={i: n for i, n in db.exec(select(id_col(Activity.id), col(Activity.name)))},
            age_groups={
                i: (a, n)
                for i, a, n in db.exec(select(id_col(AgeGroup.id), col(AgeGroup.activity_id), col(AgeGroup.name)))
            },
            document_types={
                i: (n, DocumentScope(s), h)
                for i, n, s, h in db.exec(
                    select(
                        id_col(DocumentType.id), col(DocumentType.name), col(DocumentType.scope), DocumentType.health
                    )
                )
            },
        )


@dataclass
class Batch:
    """What the lines of one batch refer to, read in a few queries."""

    families: dict[int, FamilyRow] = field(default_factory=dict)
    children: dict[int, Person] = field(default_factory=dict)
    guardians: dict[int, Person] = field(default_factory=dict)
    authorized: dict[int, Person] = field(default_factory=dict)
    health_notes: dict[int, int] = field(default_factory=dict)  # note id -> child id
    units: dict[int, dict[int, int]] = field(default_factory=dict)  # child -> {unit: activity}, accepted enrollments
    invoices: dict[str, tuple[int, int]] = field(default_factory=dict)  # number -> (id, family id)
    due: dict[int, int] = field(default_factory=dict)  # invoice id -> balance due (issued invoices only)
    known: dict[str, str] = field(default_factory=dict)  # portal id -> content sha256


def _ints(values: Iterable[Any]) -> set[int]:
    """The values that may be ids (within the database's integers: ``limits.ID_MAX``)."""
    return {x for x in values if _is_int(x) and 0 < x <= ID_MAX}


def _prefetch(db: Session, lines: Sequence[Parsed]) -> Batch:
    batch = Batch()
    objs = [p.obj for p in lines]
    ids = {p.portal_id for p in lines if p.portal_id is not None}
    if ids:
        rows = db.exec(
            select(col(Submission.portal_id), col(Submission.content_sha256)).where(col(Submission.portal_id).in_(ids))
        )
        batch.known = dict(rows.all())
    family_ids = _ints(o.get("family") for o in objs)
    if not family_ids:
        return batch
    family_rows = db.exec(
        select_columns(
            id_col(Family.id),
            col(Family.name),
            col(Family.archived_at),
            col(PortalAccount.id),
            col(PortalAccount.email),
        )
        .select_from(Family)
        .outerjoin(PortalAccount, col(PortalAccount.family_id) == col(Family.id))
        .where(id_col(Family.id).in_(family_ids))
    )
    for fid, name, archived_at, account_id, email in family_rows:
        batch.families[fid] = FamilyRow(name, archived_at is not None, account_id, email)
    live = [fid for fid, f in batch.families.items() if not f.archived]
    if not live:
        return batch
    kinds = {o.get("kind") for o in objs}
    entities = {o.get("entity") for o in objs if o.get("kind") == "change"}
    for cid, fid, first, last in db.exec(
        select(id_col(Child.id), col(Child.family_id), col(Child.first_name), col(Child.last_name)).where(
            col(Child.family_id).in_(live)
        )
    ):
        batch.children[cid] = Person(fid, f"{first} {last}")
    if "guardian" in entities:
        for gid, fid, first, last in db.exec(
            select(
                id_col(Guardian.id), col(Guardian.family_id), col(Guardian.first_name), col(Guardian.last_name)
            ).where(col(Guardian.family_id).in_(live))
        ):
            batch.guardians[gid] = Person(fid, f"{first} {last}")
    if "authorized_person" in entities:
        ap = AuthorizedPerson
        for aid, fid, first, last in db.exec(
            select(id_col(ap.id), col(ap.family_id), col(ap.first_name), col(ap.last_name)).where(
                col(ap.family_id).in_(live)
            )
        ):
            batch.authorized[aid] = Person(fid, f"{first} {last}")
    if "health_note" in entities and batch.children:
        notes = db.exec(
            select(id_col(HealthNote.id), col(HealthNote.child_id)).where(
                col(HealthNote.child_id).in_(list(batch.children))
            )
        )
        batch.health_notes = dict(notes.all())
    if "booking" in kinds:
        asked = _ints(o.get("child") for o in objs if o.get("kind") == "booking") & set(batch.children)
        if asked:
            units = db.exec(
                select(col(Enrollment.child_id), id_col(Unit.id), col(Unit.activity_id))
                .join(Unit, col(Unit.activity_id) == col(Enrollment.activity_id))
                .where(col(Enrollment.child_id).in_(asked), col(Enrollment.status) == EnrollmentStatus.ACCEPTED)
            )
            for child_id, unit_id, activity_id in units:
                batch.units.setdefault(child_id, {})[unit_id] = activity_id
    if "payment" in kinds:
        numbers = {o.get("invoice") for o in objs if o.get("kind") == "payment" and isinstance(o.get("invoice"), str)}
        if numbers:
            invoices = db.exec(
                select(col(Invoice.number), id_col(Invoice.id), col(Invoice.family_id)).where(
                    col(Invoice.number).in_(numbers)
                )
            )
            batch.invoices = {number: (iid, fid) for number, iid, fid in invoices}
            batch.due = invoice_balances(db, [iid for iid, _ in batch.invoices.values()])
    return batch


# ------------------------------------------------------------------------- validation


@dataclass
class Prepared:
    """One accepted line, ready to be written."""

    line: int
    submission: dict[str, Any]
    file: tuple[str, int, str, bytes] | None = None  # sha256, size, media type, content
    document: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    login_account_id: int | None = None
    audits: list[dict[str, Any]] = field(default_factory=list)


def _check_keys(obj: dict[str, Any]) -> str:
    """The kind, once keys and types are right."""
    if "kind" not in obj:
        raise Rejected("clé manquante : « kind ».")
    kind = obj["kind"]
    if not isinstance(kind, str) or kind not in KIND_KEYS:
        raise Rejected(f"type de demande inconnu : {json.dumps(kind, ensure_ascii=False)}.")
    required, optional = KIND_KEYS[kind]
    expected = {**COMMON, **required, **optional}
    unknown = set(obj) - set(expected)
    if unknown:
        raise Rejected(f"clé(s) inconnue(s) pour « {kind} » : {_listing(unknown)}.")
    missing = (set(COMMON) | set(required)) - set(obj)
    if missing:
        raise Rejected(f"clé(s) manquante(s) : {_listing(missing)}.")
    for key, value in obj.items():
        expect = expected[key]
        if not expect.ok(value):
            extra = " (pas un booléen)" if isinstance(value, bool) and expect.what.startswith("un nombre") else ""
            raise Rejected(f"« {key} » doit être {expect.what}{extra}.")
    if not 1 <= len(obj["id"]) <= 64:
        raise Rejected("« id » : de 1 à 64 caractères.")
    return kind


def _instant(value: str, key: str) -> datetime:
    if not ISO_INSTANT.fullmatch(value):
        try:
            naive = datetime.fromisoformat(value).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            raise Rejected(f"« {key} » : décalage horaire manquant (ex. {EXAMPLE_INSTANT}).")
        raise Rejected(f"« {key} » : « {value} » n'est pas une date-heure ISO 8601 (ex. {EXAMPLE_INSTANT}).")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise Rejected(f"« {key} » : « {value} » n'est pas une date-heure valide.") from None


def _day(value: str, key: str) -> date:
    if ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Rejected(f"« {key} » : « {value} » n'est pas une date AAAA-MM-JJ valide.")


def _text(value: str, key: str, low: int, high: int) -> str:
    text = value.strip()
    if len(text) < low:
        raise Rejected(f"« {key} » est vide.")
    if len(text) > high:
        raise Rejected(f"« {key} » : {formatting.number(high)} caractères au plus.")
    return text


def _clip(summary: str) -> str:
    return summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 1] + "…"


_money = functools.lru_cache(maxsize=4096)(formatting.money)  # Babel takes 0.3 ms a call


def _of(name: str) -> str:
    """French "de", elided before a vowel: "d'Élodie Hubert", "de Georges Hubert"."""
    return f"d'{name}" if name[:1].lower() in "aeiouyàâéèêëîïôûüœ" and name else f"de {name}"


class Validator:
    """Checks one line against the batch's prefetched data and prepares its rows."""

    def __init__(self, *, ref: Reference, batch: Batch, now: datetime) -> None:
        self.ref = ref
        self.batch = batch
        self.now = now
        self.today = now.astimezone(PARIS).date()

    def child_of(self, family_id: int, child_id: Any, key: str = "child") -> Person:
        child = self.batch.children.get(child_id)
        if child is None or child.family_id != family_id:
            raise Rejected(f"« {key} » : l'enfant n° {child_id} n'est pas un enfant de cette famille.")
        return child

    def prepare(self, parsed: Parsed) -> Prepared:
        obj = parsed.obj
        kind = _check_keys(obj)
        family_id: int = obj["family"]
        family = self.batch.families.get(family_id)
        if family is None:
            raise Rejected(f"famille n° {family_id} inconnue.")
        if family.archived:
            raise Rejected(f"la famille n° {family_id} est archivée.")
        if family.email is None or family.account_id is None:
            raise Rejected(f"la famille n° {family_id} n'a pas de compte sur le portail.")
        if obj["account"].lower() != family.email.lower():
            raise Rejected(f"le compte « {obj['account']} » n'est pas celui de la famille n° {family_id}.")
        submitted_at = _instant(obj["submitted_at"], "submitted_at")
        if submitted_at > self.now:
            raise Rejected(
                f"« submitted_at » est dans le futur ({formatting.local_datetime(submitted_at)}, heure de Paris)."
            )
        payload = {k: v for k, v in obj.items() if k not in COMMON}
        prepared = Prepared(
            line=parsed.line,
            submission={
                "portal_id": obj["id"],
                "content_sha256": parsed.sha256,
                "kind": SubmissionKind(kind),
                "family_id": family_id,
                "account": obj["account"],
                "submitted_at": submitted_at,
                "received_at": self.now,
                "status": SubmissionStatus.PENDING,
                "payload": payload,
                "reason": "",
                "version": 1,
            },
        )
        summary = self._checks()[SubmissionKind(kind)](prepared, obj, family, submitted_at)
        prepared.submission["summary"] = _clip(summary)
        return prepared

    # -- one method per kind: check, fill ``prepared``, return the French summary

    def _checks(self) -> dict[SubmissionKind, Callable[[Prepared, dict[str, Any], FamilyRow, datetime], str]]:
        """The check of each kind of line (the portal's kinds, the code's words)."""
        return {
            SubmissionKind.CHANGE: self.check_change,
            SubmissionKind.NEW_CHILD: self.check_new_child,
            SubmissionKind.ENROLLMENT: self.check_enrollment,
            SubmissionKind.BOOKING: self.check_booking,
            SubmissionKind.DOCUMENT: self.check_document,
            SubmissionKind.MESSAGE: self.check_message,
            SubmissionKind.PAYMENT: self.check_payment,
            SubmissionKind.LOGIN: self.check_login,
        }

    def check_change(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        family_id = obj["family"]
        entity, entity_id, name, new = obj["entity"], obj["entity_id"], obj["field"], obj["new"]
        if entity not in ENTITY_LABELS:
            raise Rejected(f"« entity » : entité inconnue « {entity} ».")
        label = ENTITY_LABELS[entity]
        try:
            if entity_id is None:
                return self.new_entity(family_id, entity, new)
            spec = portal_field(entity, name)
            who = self.owner(family_id, family, entity, entity_id)
            cleaned = spec.clean(new)
        except v.InvalidValue as exc:
            raise Rejected(exc.message) from None
        if entity == "health_note":
            return f"{label} {_of(who)} : modification de « {spec.label} »"
        return f"{spec.label} {_of(who)} : {shown(obj['old'])} → {shown(cleaned)}"

    def new_entity(self, family_id: int, entity: str, new: Any) -> str:
        """A new authorized person or health note (``entity_id`` null)."""
        values = dict(new) if isinstance(new, dict) else new
        if entity == "health_note" and isinstance(values, dict):
            if not _is_int(values.get("child")):
                raise Rejected("« new » d'une information sanitaire : « child » (n° de l'enfant) attendu.")
            child = self.child_of(family_id, values.pop("child"), "new.child")
            clean_new(entity, values)
            return f"Nouvelle information sanitaire pour {child.name}"
        cleaned = clean_new(entity, values)
        return f"Nouvelle personne autorisée : {cleaned['first_name']} {cleaned['last_name']}"

    def owner(self, family_id: int, family: FamilyRow, entity: str, entity_id: int) -> str:
        """Whose field it is (French, for the summary), once checked to be of this family."""
        wrong = f"« entity_id » : {ENTITY_LABELS[entity].lower()} n° {entity_id} inconnu(e) dans cette famille."
        if entity == "family":
            if entity_id != family_id:
                raise Rejected(f"« entity_id » : une famille ne modifie que sa fiche (n° {family_id}).")
            return f"la famille {family.name}"
        if entity == "health_note":
            child_id = self.batch.health_notes.get(entity_id)
            person = self.batch.children.get(child_id) if child_id is not None else None
        else:
            people = {
                "guardian": self.batch.guardians,
                "child": self.batch.children,
                "authorized_person": self.batch.authorized,
            }
            person = people[entity].get(entity_id)
        if person is None or person.family_id != family_id:
            raise Rejected(wrong)
        return person.name

    def check_new_child(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        try:
            first = _spec("child", "first_name").clean(obj["first_name"])
            last = _spec("child", "last_name").clean(obj["last_name"])
            birth = v.check_birth_date(_day(obj["birth_date"], "birth_date"), today=self.today, max_age=18)
            for key in ("school", "school_class"):
                if key in obj:
                    _spec("child", key).clean(obj[key])
        except v.InvalidValue as exc:
            raise Rejected(exc.message) from None
        if obj["sex"] not in ("F", "M"):
            raise Rejected(f"« sex » : « {obj['sex']} » ; F ou M attendu.")
        return f"Nouvel enfant : {first} {last}, né{'e' if obj['sex'] == 'F' else ''} le {birth:%d/%m/%Y}"

    def check_enrollment(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        child = self.child_of(obj["family"], obj["child"])
        activity = self.ref.activities.get(obj["activity"])
        if activity is None:
            raise Rejected(f"« activity » : activité n° {obj['activity']} inconnue.")
        group = self.ref.age_groups.get(obj["age_group"])
        if group is None or group[0] != obj["activity"]:
            raise Rejected(f"« age_group » : le groupe n° {obj['age_group']} n'est pas un groupe de « {activity} ».")
        start = _day(obj["start_date"], "start_date") if "start_date" in obj else None
        end = _day(obj["end_date"], "end_date") if "end_date" in obj else None
        if start and end and end < start:
            raise Rejected("« end_date » précède « start_date ».")
        prepared.submission["activity_id"] = obj["activity"]
        return f"Inscription {_of(child.name)} : {activity} (groupe {group[1]})"

    def check_booking(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        child = self.child_of(obj["family"], obj["child"])
        cells = obj["cells"]
        if not 1 <= len(cells) <= MAX_CELLS:
            raise Rejected(f"« cells » : de 1 à {MAX_CELLS} cases ({len(cells)} reçues).")
        allowed = self.batch.units.get(obj["child"], {})
        seen: set[tuple[str, int]] = set()
        counts = {"book": 0, "cancel": 0}
        for n, cell in enumerate(cells, start=1):
            where = f"case n° {n}"
            if not isinstance(cell, dict):
                raise Rejected(f"{where} : un objet {{day, unit, action}} attendu.")
            if set(cell) != set(CELL_KEYS):
                unknown, missing = set(cell) - set(CELL_KEYS), set(CELL_KEYS) - set(cell)
                what = (
                    f"clé(s) inconnue(s) {_listing(unknown)}" if unknown else f"clé(s) manquante(s) {_listing(missing)}"
                )
                raise Rejected(f"{where} : {what}.")
            day, unit, action = cell["day"], cell["unit"], cell["action"]
            if not isinstance(day, str):
                raise Rejected(f"{where} : « day » doit être une chaîne de caractères.")
            _day(day, f"cells[{n}].day")
            if not _is_int(unit):
                raise Rejected(f"{where} : « unit » doit être un nombre entier.")
            if action not in counts:
                raise Rejected(f"{where} : « action » vaut « book » ou « cancel ».")
            if unit not in allowed:
                raise Rejected(
                    f"{where} : l'unité n° {unit} n'est pas d'une activité où {child.name} a une inscription acceptée."
                )
            if (day, unit) in seen:
                raise Rejected(f"{where} : le {day} et l'unité n° {unit} sont déjà dans la demande.")
            seen.add((day, unit))
            counts[action] += 1
        prepared.submission["activity_id"] = allowed[cells[0]["unit"]]
        parts = [f"{counts['book']} à réserver"] if counts["book"] else []
        parts += [f"{counts['cancel']} à annuler"] if counts["cancel"] else []
        return f"Réservations {_of(child.name)} : {', '.join(parts)}"

    def check_document(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        family_id = obj["family"]
        doc_type = self.ref.document_types.get(obj["document_type"])
        if doc_type is None:
            raise Rejected(f"« document_type » : type de document n° {obj['document_type']} inconnu.")
        type_name, scope, health = doc_type
        child: Person | None = None
        if scope is DocumentScope.CHILD:
            if "child" not in obj:
                raise Rejected(f"« child » manquant : « {type_name} » se fournit pour chaque enfant.")
            child = self.child_of(family_id, obj["child"])
        elif "child" in obj:
            raise Rejected(f"« child » en trop : « {type_name} » se fournit pour la famille.")
        filename: str = obj["filename"]
        if not 1 <= len(filename) <= 200:
            raise Rejected("« filename » : de 1 à 200 caractères.")
        if "/" in filename or "\\" in filename or filename in (".", "..") or any(ord(c) < 32 for c in filename):
            raise Rejected(f"« filename » : le nom du fichier seul, sans chemin (« {filename} »).")
        media_type = obj["media_type"]
        if media_type not in v.FILE_SIGNATURES:
            raise Rejected(
                f"« media_type » : « {media_type} » ; PDF, JPEG ou PNG attendu ({_listing(v.FILE_SIGNATURES)})."
            )
        encoded: str = obj["content_base64"]
        if len(encoded) > 4 * -(-v.MAX_FILE_BYTES // 3):
            raise Rejected("document trop volumineux : 10 Mo au plus.")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Rejected("« content_base64 » n'est pas du base64 valide.") from None
        if len(content) > v.MAX_FILE_BYTES:
            raise Rejected("document trop volumineux : 10 Mo au plus.")
        if not content.startswith(v.FILE_SIGNATURES[media_type]):
            raise Rejected(f"le contenu n'est pas un fichier {media_type.split('/')[1].upper()} (« {filename} »).")
        sha = hashlib.sha256(content).hexdigest()
        prepared.file = (sha, len(content), media_type, content)
        prepared.document = {
            "family_id": family_id,
            "child_id": obj.get("child"),
            "document_type_id": obj["document_type"],
            "file_sha256": sha,
            "filename": filename,
            "status": DocumentStatus.PENDING,
            "source": Source.PORTAL,
            "submitted_at": at,
            "refusal_reason": "",
            "version": 1,
        }
        payload = prepared.submission["payload"]
        del payload["content_base64"]
        payload.update(file_sha256=sha, size=len(content))
        whose = f" {_of(child.name)}" if child else ""
        if health:  # its file's name may tell the condition: the summary is read by every desk role
            return f"Document : {type_name}{whose} ({formatting.file_size(len(content))})"
        return f"Document : {type_name}{whose} — {filename} ({formatting.file_size(len(content))})"

    def check_message(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        subject = _text(obj["subject"], "subject", 1, 200)
        body = _text(obj["body"], "body", 1, 10_000)
        recipient = _text(obj.get("recipient", ""), "recipient", 0, 120)
        prepared.message = {
            "family_id": obj["family"],
            "direction": MessageDirection.INCOMING,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "sent_at": at,
            "read_at": None,
        }
        return f"Message : {subject}"

    def check_payment(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        number, amount = obj["invoice"], obj["amount_cents"]
        invoice = self.batch.invoices.get(number)
        if invoice is None:
            raise Rejected(f"« invoice » : facture « {number} » inconnue.")
        if invoice[1] != obj["family"]:
            raise Rejected(f"« invoice » : la facture « {number} » n'est pas de cette famille.")
        if amount <= 0:
            raise Rejected("« amount_cents » doit être supérieur à 0.")
        _instant(obj["paid_at"], "paid_at")
        if not obj["reference"].strip():
            raise Rejected("« reference » est vide.")
        result = obj["result"]
        if result not in ("success", "refused"):
            raise Rejected(f"« result » : « {result} » ; « success » ou « refused » attendu.")
        if result == "success":
            due = self.batch.due.get(invoice[0], 0)
            if amount > due:
                raise Rejected(
                    f"« amount_cents » : {_money(amount)} dépasse le solde dû de la facture « {number} » "
                    f"({_money(due)})."
                )
            return f"Paiement en ligne : {number}, {_money(amount)}"
        prepared.submission["status"] = SubmissionStatus.RECORDED
        prepared.audits.append(
            {
                "action": "online_payment_refused",
                "entity": "invoice",
                "entity_id": invoice[0],
                "family_id": obj["family"],
                "after": {"invoice": number, "amount_cents": amount, "reference": obj["reference"]},
                "at": at,
            }
        )
        return f"Paiement en ligne refusé : {number}, {_money(amount)}"

    def check_login(self, prepared: Prepared, obj: dict[str, Any], family: FamilyRow, at: datetime) -> str:
        prepared.submission["status"] = SubmissionStatus.RECORDED
        prepared.login_account_id = family.account_id
        prepared.audits.append(
            {
                "action": "login",
                "entity": "portal_account",
                "entity_id": family.account_id,
                "family_id": obj["family"],
                "at": at,
            }
        )
        return "Connexion au portail"


def _spec(entity: str, name: str) -> FieldSpec:
    spec = field_spec(entity, name)
    assert spec is not None, (entity, name)
    return spec


# ------------------------------------------------------------------------------ writing


def _store_files(db: Session, files: Iterable[tuple[str, int, str, bytes]]) -> None:
    """Insert the files not stored yet (kept once by SHA-256)."""
    wanted = {sha: (sha, size, media, content) for sha, size, media, content in files}
    if not wanted:
        return
    present = set(db.exec(select(col(StoredFile.sha256)).where(col(StoredFile.sha256).in_(wanted))).all())
    rows = [
        {"sha256": sha, "size": size, "media_type": media, "content": content}
        for sha, (_, size, media, content) in wanted.items()
        if sha not in present
    ]
    if rows:
        db.exec(insert(StoredFile), params=rows, execution_options=BULK)


# Without render_nulls, the ORM leaves None values out of an INSERT: rows alternating None
# and a value (document_id, child_id…) would then go one statement per row.
BULK = {"render_nulls": True}
DOCUMENT_KEY = ("family_id", "child_id", "document_type_id", "file_sha256", "filename", "submitted_at")
MESSAGE_KEY = ("family_id", "recipient", "subject", "body", "sent_at")


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _insert_with_ids(
    db: Session, model: type[Document] | type[Message], rows: list[dict[str, Any]], key: tuple[str, ...]
) -> list[int]:
    """Insert ``rows`` in multi-row statements and return their ids, in the order of ``rows``.

    RETURNING gives rows in no guaranteed order (asking SQLAlchemy to sort them makes it
    insert one row at a time on SQLite): each id is matched to its row by the row's own
    values instead; rows equal in all of them are interchangeable.
    """
    statement = insert(model).returning(*(getattr(model, name) for name in ("id", *key)))
    ids: dict[tuple[Any, ...], list[int]] = {}
    for returned in db.exec(statement, params=rows, execution_options=BULK):
        ids.setdefault(tuple(_comparable(x) for x in returned[1:]), []).append(returned[0])
    return [ids[tuple(_comparable(row[name]) for name in key)].pop() for row in rows]


def _write(db: Session, prepared: list[Prepared]) -> None:
    _store_files(db, (p.file for p in prepared if p.file))
    documents = [(p, p.document) for p in prepared if p.document is not None]
    if documents:
        ids = _insert_with_ids(db, Document, [row for _, row in documents], DOCUMENT_KEY)
        for (p, _), document_id in zip(documents, ids, strict=True):
            p.submission["document_id"] = document_id
    messages = [(p, p.message) for p in prepared if p.message is not None]
    if messages:
        ids = _insert_with_ids(db, Message, [row for _, row in messages], MESSAGE_KEY)
        for (p, _), message_id in zip(messages, ids, strict=True):
            p.submission["message_id"] = message_id
    logins = [
        {"account_id": p.login_account_id, "at": p.submission["submitted_at"], "succeeded": True}
        for p in prepared
        if p.login_account_id is not None
    ]
    if logins:
        db.exec(insert(PortalLogin), params=logins, execution_options=BULK)
    for p in prepared:
        for entry in p.audits:
            audit.record(db, source=Source.PORTAL, **entry)
    rows = [{"activity_id": None, "document_id": None, "message_id": None, **p.submission} for p in prepared]
    if rows:
        db.exec(insert(Submission), params=rows, execution_options=BULK)
    db.flush()


# ---------------------------------------------------------------------------- the run


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
    seen: dict[str, str] = {}  # portal id -> content sha256, of the lines accepted in this run
    read = stored = known = 0
    rejected: list[Rejection] = []
    numbered = list(_lines(data))
    try:
        for start in range(0, len(numbered), BATCH_LINES):
            parsed: list[Parsed] = []
            for number, raw in numbered[start : start + BATCH_LINES]:
                read += 1
                result = _parse(number, raw)
                if isinstance(result, Rejection):
                    rejected.append(result)
                else:
                    parsed.append(result)
            batch = _prefetch(db, parsed)
            validator = Validator(ref=ref, batch=batch, now=now)
            ready: list[Prepared] = []
            for line in parsed:
                pid = line.portal_id
                previous = None if pid is None else seen.get(pid, batch.known.get(pid))
                if previous is not None:
                    if previous == line.sha256:
                        known += 1
                    else:
                        rejected.append(Rejection(line.line, pid, UNCHANGED_ID_REASON))
                    continue
                try:
                    ready.append(validator.prepare(line))
                except Rejected as exc:
                    rejected.append(Rejection(line.line, pid, exc.reason))
                    continue
                assert pid is not None
                seen[pid] = line.sha256
            _write(db, ready)
            stored += len(ready)
    except IntegrityError:
        raise RegieError(
            "Import interrompu : un autre import a enregistré les mêmes demandes au même moment. "
            "Rien n'a été enregistré ; relancez la commande."
        ) from None
    rejected.sort(key=lambda r: r.line)
    file_sha = hashlib.sha256(data).hexdigest()
    # Kept: what the accepted (and known) lines were, never a rejected line's bytes; the whole
    # file's own hash and size are in the run's audit entry.
    kept = _kept(data, (r.line for r in rejected))
    kept_sha = hashlib.sha256(kept).hexdigest() if kept is not data else file_sha
    _store_files(db, [(kept_sha, len(kept), NDJSON, kept)])
    run = PortalImport(
        file_sha256=kept_sha,
        filename=_shown_filename(filename),
        imported_at=now,
        agent_id=agent_id,
        read=read,
        stored=stored,
        known=known,
        rejected=len(rejected),
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
            "read": read,
            "stored": stored,
            "known": known,
            "rejected": len(rejected),
        },
        at=now,
    )
    return ImportSummary(read=read, stored=stored, known=known, rejected=rejected)
