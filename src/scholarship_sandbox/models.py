"""Request and response bodies. Requests forbid unknown fields (422); responses are the
`response_model`s, so /openapi.json documents every shape of docs/api-contract.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z]+_[0-9A-Za-z]{8,32}$")]
Email = Annotated[str, StringConstraints(
    pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", max_length=254)]
Currency = Literal["USD", "EUR", "GBP", "CAD", "INR"]
Role = Literal["student", "provider"]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ---------------------------------------------------------------------------
class SignupIn(In):
    email: Email
    password: str = Field(min_length=12, max_length=128)
    role: Role
    display_name: str | None = Field(default=None, min_length=1, max_length=80)


class LoginIn(In):
    email: Email
    password: str = Field(min_length=1, max_length=128)
    session: Literal["token", "cookie"] = "token"
    # 0 issues a token that is already expired (exp = iat): an expiry check needs no wait
    ttl_seconds: int | None = Field(default=None, ge=0, le=900)


class RefreshIn(In):
    refresh_token: str = Field(min_length=1, max_length=512)


class ScholarshipRef(In):
    scholarship_id: Id


class DraftIn(In):
    version: int = Field(ge=0)
    content: dict[str, Any]


class CheckoutIn(In):
    plan_id: str = Field(min_length=1, max_length=64)
    payment_token: str = Field(min_length=1, max_length=64)


class NonceIn(In):
    nonce: str = Field(min_length=1, max_length=256)


class FaultsIn(In):
    faults: list[str]


# -- responses --------------------------------------------------------------------------
class Money(BaseModel):
    value: float = Field(ge=0)
    currency: Currency


class UserRef(BaseModel):
    id: Id
    role: Role


class SignupUser(UserRef):
    created_at: datetime


class SignupOut(BaseModel):
    user: SignupUser


class TokenOut(BaseModel):
    token_type: Literal["Bearer"]
    access_token: str
    refresh_token: str
    expires_in: int
    user: UserRef


class CookieOut(BaseModel):
    token_type: Literal["cookie"]
    expires_in: int
    csrf_token: str
    user: UserRef


class ProviderRef(BaseModel):
    id: Id
    name: str


class ScholarshipSummary(BaseModel):
    id: Id
    title: str = Field(min_length=1, max_length=200)
    provider: ProviderRef
    amount: Money
    deadline: date
    tags: list[str] = Field(json_schema_extra={"uniqueItems": True})


class Eligibility(BaseModel):
    min_gpa: float | None = Field(ge=0, le=4)
    levels: list[Literal["high_school", "undergraduate", "graduate", "doctoral"]] = Field(
        min_length=1)
    fields_of_study: list[str]
    citizenship: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]]


class Scholarship(ScholarshipSummary):
    description: str
    eligibility: Eligibility
    created_at: datetime


class SearchOut(BaseModel):
    items: list[ScholarshipSummary]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=50)
    total: int = Field(ge=0)


class SavedItem(BaseModel):
    scholarship_id: Id
    title: str
    saved_at: datetime


class SavedList(BaseModel):
    items: list[SavedItem]


class Draft(BaseModel):
    application_id: Id
    version: int = Field(ge=0)
    content: dict[str, Any]
    updated_at: datetime


class Application(BaseModel):
    id: Id
    scholarship_id: Id
    status: Literal["draft", "submitted", "withdrawn"]
    created_at: datetime
    draft: Draft


class DashboardScholarship(BaseModel):
    id: Id
    title: str
    status: Literal["open", "closed"]
    saves: int = Field(ge=0)
    applications: int = Field(ge=0)


class DashboardTotals(BaseModel):
    scholarships: int = Field(ge=0)
    saves: int = Field(ge=0)
    applications: int = Field(ge=0)


class Dashboard(BaseModel):
    provider: ProviderRef
    scholarships: list[DashboardScholarship]
    totals: DashboardTotals
    generated_at: datetime


class Plan(BaseModel):
    id: Annotated[str, StringConstraints(pattern=r"^plan_[0-9A-Za-z]+$")]
    name: str
    price: Money
    interval: Literal["month", "year"]
    features: list[str]


class PricingOut(BaseModel):
    plans: list[Plan] = Field(min_length=1)


class CheckoutOut(BaseModel):
    checkout_id: Id
    plan_id: str
    amount: Money
    status: Literal["pending"]
    nonce: str
    expires_at: datetime


class ValidatedOut(BaseModel):
    checkout_id: Id
    status: Literal["validated"]
    validated_at: datetime


class FaultsOut(BaseModel):
    faults: list[str]


class ProblemOut(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str
    errors: list[dict[str, str]] | None = None
    current_version: int | None = None
