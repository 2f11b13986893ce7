"""What families sent: documents, portal change requests and messages, decided or waiting in the bannette."""

import json
from datetime import date, datetime, timedelta

from regie_tui.demo.bulk import Row
from regie_tui.demo.generator import ChildDraft, GeneratorBase, Quotient
from regie_tui.demo.households import AUTHORIZED_RELATIONSHIPS
from regie_tui.services.search_text import fold

REFUSED_DOCUMENT = [
    "Document illisible, merci de le transmettre à nouveau.",
    "Le document ne concerne pas l'année en cours.",
    "Nom de l'enfant absent du document.",
]
MESSAGES = [
    (
        "Absence de {child}",
        "Bonjour, {child} sera absent(e) jusqu'à la fin de la semaine (certificat médical "
        "transmis par l'Espace famille). Pouvez-vous annuler ses réservations ? Merci.",
    ),
    (
        "Question sur la facture",
        "Bonjour, je ne comprends pas le montant de la dernière facture : {child} n'est "
        "pas allé(e) au périscolaire le soir pendant une semaine. Pouvez-vous vérifier ? Cordialement.",
    ),
    (
        "Inscription aux vacances",
        "Bonjour, je n'arrive pas à inscrire {child} aux vacances sur le portail : "
        "le groupe d'âge n'apparaît pas. Merci de votre aide.",
    ),
    (
        "Attestation pour les impôts",
        "Bonjour, pourriez-vous m'envoyer l'attestation de frais de garde de "
        "{child} pour ma déclaration de revenus ? Merci d'avance.",
    ),
    (
        "Changement d'horaires",
        "Bonjour, à partir du mois prochain je travaillerai le mercredi : {child} "
        "viendra à l'accueil du mercredi toute la journée. Est-ce possible ?",
    ),
    (
        "Paiement en plusieurs fois",
        "Bonjour, pouvons-nous régler la facture en deux fois ? Nous traversons une "
        "période difficile. Merci de votre compréhension.",
    ),
]
REPLY = (
    "Bonjour, nous avons bien reçu votre message et l'avons transmis au service concerné. "
    "Nous revenons vers vous rapidement. Cordialement, le service enfance-jeunesse."
)


class Bannette(GeneratorBase):
    """Documents, change requests and messages of a family."""

    def documents(self, family_id: int, children: list[ChildDraft], quotients: list[Quotient]) -> None:
        """Documents sent by the family (most accepted, ~5% awaiting validation), and the QF they prove."""
        rng, ref = self.rng, self.ref
        year = ref.year
        for value, valid_from, valid_to, source in quotients:
            document_id = None
            if source == "CAF":
                status = "expired" if valid_to < self.today else "accepted"
                submitted = self.some_time(min(valid_from + timedelta(days=self.randint(3, 40)), self.today))
                document_id = self.document(
                    family_id,
                    None,
                    "caf",
                    f"attestation-caf-{valid_from.year}.pdf",
                    status,
                    submitted,
                    valid_from,
                    valid_to,
                )
            self.add(
                "family_quotient",
                (
                    self.next_id("family_quotient"),
                    family_id,
                    value,
                    source,
                    self.w.day(valid_from),
                    self.w.day(valid_to),
                    document_id,
                ),
            )
        if rng.random() < 0.25:
            sent = self.between(year.start - timedelta(days=90), year.start)
            self.document_sent(
                family_id,
                None,
                "employeur",
                "attestation-employeur.pdf",
                sent,
                sent,
                sent.replace(year=sent.year + 1) - timedelta(days=1),
            )
        if rng.random() < 0.85:
            self.document_sent(
                family_id,
                None,
                "assurance",
                "assurance-responsabilite-civile.pdf",
                self.between(year.start - timedelta(days=60), year.start + timedelta(days=20)),
                year.start,
                year.end,
            )
        for child in children:
            if not child.enrolled:
                continue
            name = fold(child.first_name).replace(" ", "-")
            if rng.random() < 0.75:
                self.document_sent(
                    family_id,
                    child.id,
                    "vaccins",
                    f"vaccins-{name}.pdf",
                    self.between(year.start - timedelta(days=80), year.start),
                    None,
                    None,
                )
            if rng.random() < 0.85:
                previous = year.start.replace(year=year.start.year - 1)
                if self.family_created < previous and rng.random() < 0.15:
                    self.document(
                        family_id,
                        child.id,
                        "fiche_sanitaire",
                        f"fiche-sanitaire-{name}-{previous.year}.pdf",
                        "expired",
                        self.some_time(previous - timedelta(days=20)),
                        previous,
                        year.start - timedelta(days=1),
                    )
                self.document_sent(
                    family_id,
                    child.id,
                    "fiche_sanitaire",
                    f"fiche-sanitaire-{name}.pdf",
                    self.between(year.start - timedelta(days=70), year.start + timedelta(days=10)),
                    year.start,
                    year.end,
                )
            if child.pai:
                self.document_sent(
                    family_id,
                    child.id,
                    "pai",
                    f"pai-{name}.pdf",
                    self.between(year.start, year.start + timedelta(days=40)),
                    year.start,
                    year.end,
                )

    def document_sent(
        self,
        family_id: int,
        child_id: int | None,
        type_code: str,
        filename: str,
        sent: date,
        valid_from: date | None,
        valid_to: date | None,
    ) -> None:
        """A document in its usual fate: accepted mostly, some refused, ~5% awaiting validation."""
        r = self.rng.random()
        if r < 0.055 or not self.counts["pending_documents"]:
            self.document(family_id, child_id, type_code, filename, "pending", self.recent(14), valid_from, valid_to)
        else:
            status = "refused" if r < 0.085 else "accepted"
            self.document(family_id, child_id, type_code, filename, status, self.some_time(sent), valid_from, valid_to)

    def document(
        self,
        family_id: int,
        child_id: int | None,
        type_code: str,
        filename: str,
        status: str,
        submitted: datetime,
        valid_from: date | None,
        valid_to: date | None,
    ) -> int:
        rng, ref = self.rng, self.ref
        document_id = self.next_id("document")
        submitted = max(submitted, self.at(self.family_created + timedelta(days=1), 11))  # not before the file
        source = "portal" if status == "pending" or rng.random() < 0.7 else "agent"
        decided_by = decided_at = None
        reason = ""
        if status != "pending":
            decided_by = ref.accueil_id
            decided_at = min(submitted + timedelta(days=self.randint(1, 6)), self.now - timedelta(minutes=10))
            reason = rng.choice(REFUSED_DOCUMENT) if status == "refused" else ""
            self.audit(
                decided_at,
                decided_by,
                "agent",
                "decide",
                "document",
                document_id,
                {"status": "pending"},
                {"status": "refused" if status == "refused" else "accepted", "file": filename},
            )
        else:
            self.counts["pending_documents"] += 1
        self.add(
            "document",
            (
                document_id,
                family_id,
                child_id,
                ref.document_types[type_code],
                rng.choice(ref.document_files[type_code]),
                filename,
                status,
                source,
                self.w.instant(submitted),
                self.w.day(valid_from),
                self.w.day(valid_to),
                decided_by,
                self.w.instant(decided_at),
                reason,
                1,
            ),
        )
        return document_id

    def change_requests(self, family_id: int, guardians: list[Row], children: list[ChildDraft], address: str) -> None:
        """Portal edits: pending for ~5% of families, decided ones for a few more."""
        rng = self.rng
        r = rng.random()
        if r < 0.05 or not self.counts["pending_change_requests"]:
            statuses = ["pending"] * (2 if rng.random() < 0.2 else 1)
        elif r < 0.08:
            statuses = [rng.choice(["accepted", "accepted", "refused"])]
        else:
            return
        for status in statuses:
            guardian = rng.choice(guardians)
            child = rng.choice(children)
            kind = rng.randrange(6)
            request: tuple[str, int | None, str, str, str]  # entity, entity id, field, old value, new value
            if kind == 0:
                new_address = f"{self.randint(1, 120)} {rng.choice(self.streets)}"
                old, new = (address, new_address) if status != "accepted" else (new_address, address)
                request = ("family", family_id, "address", old, new)
            elif kind == 1:
                request = (
                    "guardian",
                    guardian[0],
                    "mobile_phone",
                    guardian[6],
                    self.fake.numerify(f"0{rng.choice('67')} ## ## ## ##"),
                )
            elif kind == 2:
                request = ("guardian", guardian[0], "email", guardian[9], self.email(guardian[3], guardian[2] + "-pro"))
            elif kind == 3:
                request = ("guardian", guardian[0], "employer", guardian[10], self.fake.company())
            elif kind == 4:
                request = ("child", child.id, "diet", "", self.diet_labels[rng.choice(["sans_porc", "sans_viande"])])
            else:
                person = {
                    "last_name": self.fake.last_name(),
                    "first_name": self.fake.first_name_female(),
                    "relationship": rng.choice(AUTHORIZED_RELATIONSHIPS),
                    "phone": self.fake.numerify("06 ## ## ## ##"),
                    "may_collect": True,
                    "emergency_contact": rng.random() < 0.5,
                }
                request = ("authorized_person", None, "new", "", json.dumps(person, ensure_ascii=False))
            entity, entity_id, field_name, old, new = request
            request_id = self.next_id("change_request")
            if status == "pending":
                submitted = self.recent(20)
                self.counts["pending_change_requests"] += 1
                decided_by = decided_at = None
                reason = ""
            else:
                submitted = self.recent(80)
                decided_by = self.ref.accueil_id
                decided_at = min(submitted + timedelta(days=self.randint(1, 4)), self.now - timedelta(minutes=5))
                reason = "Justificatif manquant : merci de joindre un document." if status == "refused" else ""
                self.audit(
                    decided_at,
                    decided_by,
                    "agent",
                    "decide",
                    "change_request",
                    request_id,
                    {field_name: old},
                    {field_name: new, "status": status},
                    always=True,
                )
            self.add(
                "change_request",
                (
                    request_id,
                    family_id,
                    entity,
                    entity_id,
                    field_name,
                    old,
                    new,
                    status,
                    self.w.instant(submitted),
                    decided_by,
                    self.w.instant(decided_at),
                    reason,
                    1,
                ),
            )

    def messages(self, family_id: int, children: list[ChildDraft], payer: str) -> None:
        """'Contacter la structure': unread messages for ~3% of families, answered ones for a few more."""
        rng = self.rng
        r = rng.random()
        if not self.counts["unread_messages"]:
            r = 0.0
        if r >= 0.09:
            return
        subject, body = rng.choice(MESSAGES)
        child = rng.choice(children).first_name
        message_id = self.next_id("message")
        recipient = rng.choice(["Service enfance-jeunesse", "Régie", "Accueil de loisirs Les Lucioles"])
        unread = r < 0.03
        sent = self.recent(7 if unread else 60)
        read = None if unread else min(sent + timedelta(hours=self.randint(2, 48)), self.now - timedelta(minutes=15))
        self.add(
            "message",
            (
                message_id,
                family_id,
                "incoming",
                recipient,
                subject.format(child=child),
                body.format(child=child),
                self.w.instant(sent),
                self.w.instant(read),
                None if read is None else self.ref.accueil_id,
                None,
            ),
        )
        if read is None:
            self.counts["unread_messages"] += 1
            return
        self.add(
            "message",
            (
                self.next_id("message"),
                family_id,
                "outgoing",
                payer,
                "Re : " + subject.format(child=child),
                REPLY,
                self.w.instant(min(read + timedelta(minutes=20), self.now - timedelta(minutes=10))),
                None,
                None,
                message_id,
            ),
        )
