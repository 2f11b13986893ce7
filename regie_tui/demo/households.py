"""Households of the demo town: guardians, children and their health, authorized persons, portal."""

from datetime import date, datetime, timedelta
from typing import Any

from regie_tui.demo.bulk import Row
from regie_tui.demo.generator import ChildDraft, GeneratorBase

# Birth years of the children (school year 2026-2027) with their class and weight.
CLASSES: list[tuple[int, str, str, int]] = [
    (2024, "TPS", "maternelle", 3),
    (2023, "PS", "maternelle", 10),
    (2022, "MS", "maternelle", 10),
    (2021, "GS", "maternelle", 10),
    (2020, "CP", "elementaire", 10),
    (2019, "CE1", "elementaire", 10),
    (2018, "CE2", "elementaire", 10),
    (2017, "CM1", "elementaire", 10),
    (2016, "CM2", "elementaire", 10),
    (2015, "6e", "college", 2),
    (2014, "5e", "college", 2),
    (2013, "4e", "college", 2),
    (2012, "3e", "college", 2),
    (2011, "2de", "lycee", 1),
]
COLLEGE = "Collège Anne de Bretagne"
LYCEE = "Lycée Camille Claudel"
AUTHORIZED_RELATIONSHIPS = [
    "grand-mère",
    "grand-père",
    "tante",
    "oncle",
    "voisine",
    "amie de la famille",
    "assistante maternelle",
    "parrain",
    "marraine",
]
ALLERGIES = [
    "Allergie aux arachides",
    "Allergie au lait de vache",
    "Allergie aux fruits à coque",
    "Allergie au pollen de graminées",
    "Allergie aux piqûres de guêpe",
    "Allergie aux œufs",
]
TREATMENTS = [
    "Asthme : Ventoline dans le sac, 2 bouffées en cas de gêne respiratoire",
    "Diabète de type 1 : contrôle de glycémie avant le repas",
    "Épilepsie : protocole d'urgence remis au directeur",
]
PAIS = [
    "PAI alimentaire : allergie sévère à l'arachide, trousse d'urgence (stylo d'adrénaline) à l'école",
    "PAI asthme : traitement de crise dans la trousse d'urgence",
    "PAI alimentaire : allergie aux protéines de lait de vache, panier repas fourni par la famille",
]
DISABILITIES = [
    "Notification MDPH : accompagnement par une AESH sur le temps scolaire",
    "Trouble du spectre de l'autisme : prévenir les parents en cas de changement d'animateur",
]
OTHER_NOTES = ["Port de lunettes", "Appareil dentaire à retirer pendant le repas", "Sieste obligatoire"]


class Households(GeneratorBase):
    """The people of a family."""

    def guardians(self, family_id: int) -> list[Row]:
        rng, fake = self.rng, self.fake
        r = rng.random()
        if r < 0.62:  # a couple with one name
            last = fake.last_name()
            people = [(last, fake.first_name_female(), "mère"), (last, fake.first_name_male(), "père")]
        elif r < 0.8:  # a couple with two names
            people = [
                (fake.last_name(), fake.first_name_female(), "mère"),
                (fake.last_name(), fake.first_name_male(), "père"),
            ]
        elif r < 0.97:
            people = [(fake.last_name(), fake.first_name_female(), "mère")]
        else:
            people = [(fake.last_name(), fake.first_name_male(), "père")]
        payer = 0 if len(people) == 1 or rng.random() < 0.65 else 1
        rows = []
        for i, (last, first, relationship) in enumerate(people):
            mobile = fake.numerify(f"0{rng.choice('67')} ## ## ## ##")
            home = fake.numerify("02 40 ## ## ##") if rng.random() < 0.25 else ""
            work = fake.numerify("02 ## ## ## ##") if rng.random() < 0.2 else ""
            employer = fake.company() if rng.random() < 0.7 else ""
            rows.append(
                (
                    self.next_id("guardian"),
                    family_id,
                    last,
                    first,
                    relationship,
                    i == payer,
                    mobile,
                    home,
                    work,
                    self.email(first, last),
                    employer,
                    1,
                )
            )
        for row in rows:
            self.add("guardian", row)
        self.counts["guardians"] += len(rows)
        return rows

    def children(self, family_id: int, last_name: str, school: dict[str, Any] | None) -> list[ChildDraft]:
        rng, fake = self.rng, self.fake
        count = 1 if (r := rng.random()) < 0.55 else 2 if r < 0.9 else 3
        children = []
        for year, school_class, level, _ in sorted(rng.sample(CLASSES, count, counts=[c[3] for c in CLASSES])):
            sex = rng.choice("FM")
            first = fake.first_name_female() if sex == "F" else fake.first_name_male()
            birth = date(year, 1, 1) + timedelta(days=self.randint(0, 364))
            child_level: str | None = level
            if school_class == "TPS" and (birth.month > 8 or rng.random() < 0.5):
                school_name, school_class, child_level = "", "", None
            elif level in ("maternelle", "elementaire"):
                school_name = (
                    school["name"] if school else f"École de {rng.choice(self.ref.settings['neighbour'])['city']}"
                )
            else:
                school_name = COLLEGE if level == "college" else LYCEE
            child = ChildDraft(self.next_id("child"), last_name, first, birth, child_level)
            children.append(child)
            self.add(
                "child", (child.id, family_id, last_name, first, self.w.day(birth), sex, school_name, school_class, 1)
            )
            self.health(child)
        self.counts["children"] += len(children)
        return children

    def health(self, child: ChildDraft) -> None:
        rng = self.rng
        r = rng.random()
        note = None
        if r < 0.08:
            note = ("allergy", rng.choice(ALLERGIES))
        elif r < 0.11:
            note = ("pai", rng.choice(PAIS))
        elif r < 0.13:
            note = ("treatment", rng.choice(TREATMENTS))
        elif r < 0.14:
            note = ("disability", rng.choice(DISABILITIES))
        elif r < 0.17:
            note = ("other", rng.choice(OTHER_NOTES))
        if note:
            kind, text = note
            child.pai = kind == "pai"
            self.add(
                "health_note",
                (
                    self.next_id("health_note"),
                    child.id,
                    kind,
                    text,
                    kind != "other",
                    self.w.day(self.ref.year.end) if child.pai else None,
                    1,
                ),
            )
        if child.pai and note is not None and "panier" in note[1]:
            self.add("child_diet", (child.id, self.diet_ids["panier_repas"]))
        elif (r := rng.random()) < 0.12:
            code = (
                "sans_porc" if r < 0.06 else "sans_viande" if r < 0.1 else "sans_gluten" if r < 0.11 else "sans_lactose"
            )
            self.add("child_diet", (child.id, self.diet_ids[code]))

    def authorized_persons(self, family_id: int, last_name: str) -> None:
        rng, fake = self.rng, self.fake
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            relationship = rng.choice(AUTHORIZED_RELATIONSHIPS)
            same_name = relationship.startswith(("grand", "oncle", "tante")) and rng.random() < 0.6
            last = last_name if same_name else fake.last_name()
            male = relationship in ("grand-père", "oncle", "parrain")
            first = fake.first_name_male() if male else fake.first_name_female()
            may_collect = rng.random() < 0.9
            emergency = not may_collect or rng.random() < 0.6
            self.add(
                "authorized_person",
                (
                    self.next_id("authorized_person"),
                    family_id,
                    last,
                    first,
                    relationship,
                    fake.numerify(f"0{rng.choice('67')} ## ## ## ##"),
                    may_collect,
                    emergency,
                    1,
                ),
            )

    def portal(self, family_id: int, email: str, created: datetime) -> bool:
        """Consents, and the portal account with its sign-ins; True if the family uses the portal.

        A family with an activated account (``self.account``) sends portal lines later on.
        """
        rng = self.rng
        consent_at = min(created + timedelta(days=self.randint(0, 20)), self.now - timedelta(hours=1))
        for kind, p in (("personal_data", 1.0), ("health_data", 0.92), ("image_rights", 0.75)):
            self.add(
                "consent", (self.next_id("consent"), family_id, kind, rng.random() < p, self.w.instant(consent_at))
            )
        first_account = not self.counts["portal_accounts"]  # the first family uses the portal: work for the bannette
        self.account = None
        if rng.random() >= 0.88 and not first_account:
            return False
        account_id = self.next_id("portal_account")
        activated = consent_at if rng.random() < 0.95 or first_account else None
        self.counts["portal_accounts"] += 1
        if activated:
            self.account = email
        self.add("portal_account", (account_id, family_id, email, self.w.instant(activated), rng.random() < 0.3))
        if activated:
            first = max(activated.date(), self.today - timedelta(days=150))
            for _ in range(self.randint(2, 12)):
                day = self.between(first, self.today - timedelta(days=1))
                self.add(
                    "portal_login",
                    (
                        self.next_id("portal_login"),
                        account_id,
                        self.w.instant(self.some_time(day)),
                        rng.random() < 0.96,
                    ),
                )
        return activated is not None
