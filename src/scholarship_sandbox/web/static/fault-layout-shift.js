"use strict";
// Fault layout-shift (docs/faults.md): a promotion banner pushed in above the content once
// the page has loaded and painted, then taken away again: everything the user sees jumps
// down a screen and back up, two layout shifts in one session window.
window.addEventListener("load", () => {
  const banner = document.createElement("aside");
  banner.className = "promo-banner";
  banner.textContent = "Deadlines are coming: apply this week!";
  window.requestAnimationFrame(() => window.setTimeout(() => {
    document.body.insertBefore(banner, document.body.firstChild);
    window.requestAnimationFrame(() => window.setTimeout(() => banner.remove(), 0));
  }, 0));
});
