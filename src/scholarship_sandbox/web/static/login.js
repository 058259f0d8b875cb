"use strict";
// Log in with a cookie session (HttpOnly sa_session, readable sa_csrf), then go on.
(function () {
  const S = window.ScholarshipAI;
  const form = document.querySelector("[data-testid=login-form]");
  const error = document.querySelector("[data-testid=login-error]");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const result = await S.api("POST", "/api/v1/auth/login", {
      email: form.elements.email.value,
      password: form.elements.password.value,
      session: "cookie",
    });
    if (result.ok) {
      window.location.assign(S.link(form.dataset.next));
      return;
    }
    error.textContent = result.status === 401 ? "Wrong email or password." : S.problem(result);
    error.hidden = false;
  });
})();
