"""Deterministic seed data: the same scholarships, providers, plans and test accounts on
every start (a fixed random seed). Two catalogues: the standard one, and an alternate one
with other titles, providers, fields and size (no title says "scholarship"), so that a
selftest can show the checks find what they need on the target instead of assuming it."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .auth import hash_password
from .storage import Storage


@dataclass(frozen=True)
class SeedAccount:
    email: str
    password: str
    role: str
    user_id: str
    quota: int | None = None


SEEDED_PROVIDER_ID = "prov_sandbox01"
ACCOUNTS = (
    SeedAccount("student@sandbox.scholarshipai.test", "sandbox-student-pass", "student",
                "usr_student0001"),
    SeedAccount("provider@sandbox.scholarshipai.test", "sandbox-provider-pass", "provider",
                "usr_provider001"),
    SeedAccount("quota@sandbox.scholarshipai.test", "sandbox-quota-pass", "student",
                "usr_quota000001", quota=3),
)
PLANS = (
    ("plan_free0001", "Explorer", 0.0, "USD", "month", ["search", "save up to 10"]),
    ("plan_plus0001", "Plus", 9.99, "USD", "month",
     ["unlimited saves", "deadline reminders", "application drafts"]),
    ("plan_pro00001", "Pro (yearly)", 99.0, "USD", "year",
     ["everything in Plus", "essay review", "priority support"]),
)
LEVELS = ("high_school", "undergraduate", "graduate", "doctoral")
COUNTRIES = ("US", "CA", "GB", "IN", "DE", "FR", "NG", "KE", "BR", "MX", "AU", "IE")
TAGS = ("stem", "arts", "need-based", "merit", "first-generation", "women", "rural", "veterans",
        "international", "renewable", "research", "leadership", "community", "essay")


@dataclass(frozen=True)
class Catalogue:
    """The vocabulary scholarships are drawn from; `title` is a format string over
    provider (its first word), theme, kind and field."""

    providers: tuple[str, ...]
    fields: tuple[str, ...]
    themes: tuple[str, ...]
    kinds: tuple[str, ...]
    title: str
    size: int
    tags: tuple[str, ...]


CATALOGUES = {
    "standard": Catalogue(
        providers=(
            "Sandbox Scholars Foundation", "Aurora Education Trust", "Northwind STEM Fund",
            "Meridian Arts Council", "Blue Harbor Community Foundation",
            "Cedar Ridge University", "Helios Engineering Society",
            "Greenleaf Environmental Fund", "Lakeside Medical Alliance",
            "Summit First-Generation Initiative", "Orchid Women in Tech",
            "Riverbend Rural Futures", "Atlas Global Exchange",
            "Keystone Veterans Education Fund"),
        fields=("computer science", "nursing", "mechanical engineering", "biology",
                "economics", "education", "fine arts", "environmental science", "mathematics",
                "public health", "journalism", "agriculture", "law", "music", "data science",
                "chemistry"),
        themes=("Merit", "Future Leaders", "Community Impact", "First-Generation",
                "Women in STEM", "Rural Students", "Innovation", "Excellence", "Access",
                "Service", "Global Citizens", "Creative Voices"),
        kinds=("Scholarship",),
        title="{provider} {theme} {kind} in {field}",
        size=240, tags=TAGS),
    "alternate": Catalogue(
        providers=("Quillfeather Trust", "Basalt Coast Guild", "Tamarind Learning Circle",
                   "Ostrava Crafts Union", "Vellum & Ink Society", "Juniper Valley Cooperative",
                   "Kestrel Aviation League"),
        fields=("marine biology", "architecture", "linguistics", "astronomy", "carpentry",
                "philosophy", "aviation", "viticulture", "glassblowing"),
        themes=("Harbour", "Lantern", "Compass", "Keel", "Ember", "Trellis", "Beacon"),
        kinds=("Bursary", "Fellowship", "Grant", "Prize", "Award"),
        title="{theme} {kind} for {field} ({provider})",
        size=37,
        tags=("maritime", "craft", "humanities", "aviation", "apprentice", "open-call")),
}
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "CAD", "INR")
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(storage: Storage, *, rng_seed: int, catalogue: str = "standard",
         today: date | None = None) -> None:
    vocabulary = CATALOGUES[catalogue]
    rng = random.Random(rng_seed)
    # Deadlines keep their seeded offsets but follow the calendar, so that most
    # scholarships stay open whatever day the sandbox starts on.
    first_deadline = (today or datetime.now(UTC).date()) - timedelta(days=30)
    providers = [(SEEDED_PROVIDER_ID if i == 0 else f"prov_{i:04d}{rng.randrange(16**4):04x}",
                  name) for i, name in enumerate(vocabulary.providers)]
    rows = []
    for i in range(vocabulary.size):
        provider_id, provider_name = providers[i % len(providers)]
        field = rng.choice(vocabulary.fields)
        theme = rng.choice(vocabulary.themes)
        # one kind draws nothing, so the standard catalogue is what it always was
        kind = rng.choice(vocabulary.kinds) if len(vocabulary.kinds) > 1 else vocabulary.kinds[0]
        title = vocabulary.title.format(provider=provider_name.split()[0], theme=theme,
                                        kind=kind, field=field.title())
        currency = rng.choice(CURRENCIES)
        amount = round(rng.choice((500, 1000, 1500, 2500, 5000, 7500, 10000, 20000))
                       * (80 if currency == "INR" else 1) * rng.uniform(0.9, 1.1), 2)
        levels = sorted(rng.sample(LEVELS, rng.randint(1, 3)), key=LEVELS.index)
        eligibility = {
            "min_gpa": rng.choice((None, 2.5, 3.0, 3.2, 3.5, 3.8)),
            "levels": levels,
            "fields_of_study": sorted({field, *rng.sample(vocabulary.fields, rng.randint(0, 2))}),
            "citizenship": sorted(rng.sample(COUNTRIES, rng.randint(1, 4))),
        }
        tags = sorted(set(rng.sample(vocabulary.tags, rng.randint(1, 4))))
        deadline = first_deadline + timedelta(days=rng.randrange(0, 540))
        description = (f"Awarded by {provider_name} to {' and '.join(levels).replace('_', ' ')} "
                       f"students of {field} who show {rng.choice(vocabulary.themes).lower()} "
                       f"and a "
                       f"commitment to their community. Renewable: "
                       f"{rng.choice(('yes', 'no'))}.")
        created = EPOCH + timedelta(hours=i * 7 + rng.randrange(7))
        search_text = " ".join((title, provider_name, description, " ".join(tags))).lower()
        rows.append((f"sch_{i:04d}{rng.randrange(16**4):04x}", title, provider_id, amount,
                     currency, deadline.isoformat(), json.dumps(tags), description,
                     json.dumps(eligibility), iso(created), search_text))
    with storage.write() as conn:
        conn.executemany("INSERT INTO providers VALUES (?, ?)", providers)
        conn.executemany("INSERT INTO scholarships VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO plans VALUES (?,?,?,?,?,?,?)",
                         [(p[0], p[1], p[2], p[3], p[4], json.dumps(p[5]), n)
                          for n, p in enumerate(PLANS)])
        for account in ACCOUNTS:
            conn.execute(
                "INSERT INTO users (id, email, password_hash, role, display_name, provider_id,"
                " created_at, created_ts, first_value_at, quota, seeded)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,1)",
                (account.user_id, account.email, hash_password(account.password), account.role,
                 account.role.title(), SEEDED_PROVIDER_ID if account.role == "provider" else None,
                 # first_value_at set: seeded accounts never signed up, so no time-to-value
                 iso(EPOCH), EPOCH.timestamp(), iso(EPOCH), account.quota))
