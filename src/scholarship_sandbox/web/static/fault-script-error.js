"use strict";
// Fault script-error (docs/faults.md): a render step that trusts a field the page lacks,
// so the page throws an uncaught TypeError, as a half-deployed script bundle would.
(function () {
  const main = document.querySelector("[data-testid=main]");
  const badges = main.dataset.badges.split(",");
  main.classList.add(...badges);
})();
