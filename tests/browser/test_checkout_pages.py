"""Buying a plan in the browser: pricing, checkout with the sandbox payment token, the
confirmation page."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.payments, pytest.mark.critical,
              pytest.mark.timeout(120)]

CONFIRMATION = "/checkout/{checkout_id}/confirmation"


def test_student_buys_a_plan_in_the_browser(web, sign_in, payment_token_value):
    sign_in("student")
    with web.step("open_pricing", lands_on="/pricing"):
        web.click("nav-pricing")
        web.expect("plan-choose", "the plans with a way to choose one")
    paid = web.by_test_id("plan-card").filter(has_not_text="0.00 ").first
    name = paid.get_by_test_id("plan-name").inner_text()
    price = paid.get_by_test_id("plan-price").inner_text().split(" /")[0]

    with web.step("choose_plan", lands_on="/checkout"):
        paid.get_by_test_id("plan-choose").click()
        web.expect("checkout-plan", "the chosen plan at checkout", text=name)
    web.expect("checkout-amount", "the plan's listed price at checkout", text=price)
    with web.step("pay", lands_on=CONFIRMATION):
        web.fill("checkout-token", payment_token_value)
        web.click("checkout-submit")
        web.expect("confirmation-status", "the payment to be confirmed", text="validated")
    web.expect("confirmation-amount", "the plan's listed price charged", text=price)
