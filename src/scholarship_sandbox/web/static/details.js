"use strict";
// The details page: save the scholarship, begin an application (then open its draft).
(function () {
  const S = window.ScholarshipAI;
  const article = document.querySelector("[data-testid=scholarship]");
  const scholarshipId = article.dataset.scholarshipId;
  const saveButton = document.querySelector("[data-action=save]");
  const saveStatus = document.querySelector("[data-testid=save-status]");
  const applyButton = document.querySelector("[data-action=apply]");
  const applyStatus = document.querySelector("[data-testid=apply-status]");

  async function save() {
    if (!S.signedIn()) {
      S.toLogin();
      return;
    }
    saveButton.disabled = true;
    S.show(saveStatus, "saving", "Saving…");
    const result = await S.api("POST", "/api/v1/me/saved", { scholarship_id: scholarshipId });
    if (result.status === 401) {
      S.toLogin();
      return;
    }
    if (result.ok) {
      S.show(saveStatus, "saved", "Saved");
      saveButton.textContent = "Saved";
    } else {
      S.show(saveStatus, "error", `Not saved: ${S.problem(result)}`);
      saveButton.disabled = false;
    }
  }

  async function apply() {
    if (!S.signedIn()) {
      S.toLogin();
      return;
    }
    applyButton.disabled = true;
    S.show(applyStatus, "starting", "Starting your application…");
    const result = await S.api("POST", "/api/v1/applications", { scholarship_id: scholarshipId });
    if (result.status === 401) {
      S.toLogin();
      return;
    }
    if (result.ok) {
      window.location.assign(S.link(`/applications/${encodeURIComponent(result.data.id)}/draft`));
    } else {
      S.show(applyStatus, "error", `Could not start: ${S.problem(result)}`);
      applyButton.disabled = false;
    }
  }

  if (saveButton) {
    saveButton.addEventListener("click", save);
  }
  applyButton.addEventListener("click", apply);
})();
