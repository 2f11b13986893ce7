"""Checking one line by its kind, against the batch's prefetched data, and preparing its rows.

Decisions the contract leaves open are listed in :mod:`.run`. A summary never shows health
information: the bannette's lists are seen by roles that may not read it.
"""

import base64
import binascii
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regie_tui import formatting
from regie_tui.clock import PARIS
from regie_tui.models import DocumentScope, DocumentStatus, MessageDirection, Source, SubmissionKind, SubmissionStatus
from regie_tui.services.common import validation as v
from regie_tui.services.families.fields import ENTITY_LABELS, FieldSpec, clean_new, field_spec, portal_field, shown
from regie_tui.services.portal.intake.lines import Parsed
from regie_tui.services.portal.intake.prefetch import Batch, FamilyRow, Person, Reference
from regie_tui.services.portal.intake.schema import (
    CELL_KEYS,
    COMMON,
    Rejected,
    check_keys,
    clean_text,
    is_int,
    listing,
    parse_day,
    parse_instant,
)

MAX_CELLS = 400
SUMMARY_MAX = 300


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
        kind = check_keys(obj)
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
        submitted_at = parse_instant(obj["submitted_at"], "submitted_at")
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
            if not is_int(values.get("child")):
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
            birth = v.check_birth_date(parse_day(obj["birth_date"], "birth_date"), today=self.today, max_age=18)
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
        start = parse_day(obj["start_date"], "start_date") if "start_date" in obj else None
        end = parse_day(obj["end_date"], "end_date") if "end_date" in obj else None
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
                    f"clé(s) inconnue(s) {listing(unknown)}" if unknown else f"clé(s) manquante(s) {listing(missing)}"
                )
                raise Rejected(f"{where} : {what}.")
            day, unit, action = cell["day"], cell["unit"], cell["action"]
            if not isinstance(day, str):
                raise Rejected(f"{where} : « day » doit être une chaîne de caractères.")
            parse_day(day, f"cells[{n}].day")
            if not is_int(unit):
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
        filename, media_type, content = _document_file(obj)
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
        subject = clean_text(obj["subject"], "subject", 1, 200)
        body = clean_text(obj["body"], "body", 1, 10_000)
        recipient = clean_text(obj.get("recipient", ""), "recipient", 0, 120)
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
        parse_instant(obj["paid_at"], "paid_at")
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


def _document_file(obj: dict[str, Any]) -> tuple[str, str, bytes]:
    """A document line's file: its name alone (no path), a media type the desk reads, its content
    decoded, 10 MB at most, and starting as its media type says."""
    filename: str = obj["filename"]
    if not 1 <= len(filename) <= 200:
        raise Rejected("« filename » : de 1 à 200 caractères.")
    if "/" in filename or "\\" in filename or filename in (".", "..") or any(ord(c) < 32 for c in filename):
        raise Rejected(f"« filename » : le nom du fichier seul, sans chemin (« {filename} »).")
    media_type = obj["media_type"]
    if media_type not in v.FILE_SIGNATURES:
        raise Rejected(f"« media_type » : « {media_type} » ; PDF, JPEG ou PNG attendu ({listing(v.FILE_SIGNATURES)}).")
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
    return filename, media_type, content


def _spec(entity: str, name: str) -> FieldSpec:
    spec = field_spec(entity, name)
    assert spec is not None, (entity, name)
    return spec
