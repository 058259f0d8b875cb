"use strict";
// Checkout: start it with the payment token, validate its single-use nonce, confirm.
(function () {
  const S = window.ScholarshipAI;
  const form = document.querySelector("[data-testid=checkout-form]");
  const error = document.querySelector("[data-testid=checkout-error]");
  const submit = document.querySelector("[data-testid=checkout-submit]");

  function fail(text) {
    error.textContent = text;
    error.hidden = false;
    submit.disabled = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!S.signedIn()) {
      S.toLogin();
      return;
    }
    error.hidden = true;
    submit.disabled = true;
    const started = await S.api("POST", "/api/v1/checkout", {
      plan_id: form.dataset.planId,
      payment_token: form.elements.payment_token.value,
    });
    if (started.status === 401) {
      S.toLogin();
      return;
    }
    if (!started.ok) {
      fail(`Payment failed: ${S.problem(started)}`);
      return;
    }
    const id = encodeURIComponent(started.data.checkout_id);
    const validated = await S.api("POST", `/api/v1/checkout/${id}/validate`,
                                  { nonce: started.data.nonce });
    if (!validated.ok) {
      fail(`Payment not confirmed: ${S.problem(validated)}`);
      return;
    }
    window.location.assign(S.link(`/checkout/${id}/confirmation`));
  });
})();
