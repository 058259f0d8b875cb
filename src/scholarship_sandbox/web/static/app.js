"use strict";
// Shared by every page: links and API calls that keep the synthetic tagging of the page
// (?e2e=1), and the cookie session's CSRF double-submit (X-CSRF-Token = the sa_csrf cookie).
(function () {
  const tagged = document.documentElement.dataset.e2e === "1";

  function link(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      url.searchParams.set(name, value);
    }
    if (tagged) {
      url.searchParams.set("e2e", "1");
    }
    return url.pathname + url.search;
  }

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) {
        return decodeURIComponent(rest.join("="));
      }
    }
    return null;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    const csrf = cookie("sa_csrf");
    if (method !== "GET" && csrf) {
      headers["X-CSRF-Token"] = csrf;
    }
    const response = await fetch(link(path), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    return { status: response.status, ok: response.ok, data };
  }

  function problem(result) {
    const detail = result.data && (result.data.detail || result.data.title);
    return detail ? `${detail} (${result.status})` : `HTTP ${result.status}`;
  }

  function toLogin() {
    const here = window.location.pathname + window.location.search;
    window.location.assign(link("/login", { next: here }));
  }

  function show(element, state, text) {
    element.dataset.state = state;
    element.textContent = text;
  }

  window.ScholarshipAI = { link, api, cookie, problem, toLogin, show,
                           signedIn: () => Boolean(cookie("sa_csrf")) };
})();
