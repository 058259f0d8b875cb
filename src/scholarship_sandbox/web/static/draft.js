"use strict";
// The draft editor: reads the draft through the API, autosaves it half a second after the
// last keystroke with its version (a 409 means it was edited elsewhere), and says so.
(function () {
  const S = window.ScholarshipAI;
  const editor = document.querySelector("[data-testid=draft-editor]");
  const essay = document.querySelector("[data-testid=draft-essay]");
  const status = document.querySelector("[data-testid=autosave-status]");
  const path = `/api/v1/applications/${encodeURIComponent(editor.dataset.applicationId)}/draft`;
  let version = null;
  let timer = null;
  let saving = false;
  let dirty = false;

  function show(state, text) {
    S.show(status, state, text);
    if (version !== null) {
      status.dataset.version = String(version);
    }
  }

  async function load() {
    const result = await S.api("GET", path);
    if (result.status === 401) {
      S.toLogin();
      return;
    }
    if (!result.ok) {
      show("error", `Could not open the draft: ${S.problem(result)}`);
      return;
    }
    version = result.data.version;
    essay.value = (result.data.content && result.data.content.essay) || "";
    essay.disabled = false;
    show("loaded", version ? `Last saved at version ${version}` : "New draft");
  }

  async function save() {
    if (saving) {
      dirty = true;
      return;
    }
    saving = true;
    dirty = false;
    const text = essay.value;
    show("saving", "Saving…");
    const result = await S.api("PUT", path, { version, content: { essay: text } });
    saving = false;
    if (result.status === 409) {
      show("conflict", "This draft was changed elsewhere: reload the page to continue.");
      return;
    }
    if (!result.ok) {
      show("error", `Not saved: ${S.problem(result)}`);
      return;
    }
    version = result.data.version;
    if (dirty || essay.value !== text) {
      save();
    } else {
      show("saved", `Saved (version ${version})`);
    }
  }

  essay.addEventListener("input", () => {
    window.clearTimeout(timer);
    show("editing", "Editing…");
    timer = window.setTimeout(save, 500);
  });
  load();
})();
