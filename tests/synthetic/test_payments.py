"""Payments smoke: pricing, checkout init with the sandbox token, nonce validation."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.payments, pytest.mark.critical]


def test_checkout_with_the_sandbox_token_validates_once(api, student, payment_token_value):
    pricing = api.get("/api/v1/pricing", expect=200, schema="pricing")
    plan = pricing.json()["plans"][0]

    checkout = api.post("/api/v1/checkout", token=student.access_token, expect=201,
                        schema="checkout",
                        json={"plan_id": plan["id"], "payment_token": payment_token_value})
    body = checkout.json()
    checkout.ensure(body["plan_id"] == plan["id"] and body["amount"] == plan["price"],
                    f"the checkout to charge plan {plan['id']} at its listed price")

    validated = api.post("/api/v1/checkout/{checkout_id}/validate",
                         path_params={"checkout_id": body["checkout_id"]},
                         token=student.access_token, json={"nonce": body["nonce"]},
                         expect=200, schema="checkout-validation")
    validated.ensure(validated.json()["checkout_id"] == body["checkout_id"],
                     "the validation of the same checkout")
