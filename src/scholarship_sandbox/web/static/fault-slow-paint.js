"use strict";
// Fault slow-paint (docs/faults.md): the main content stays hidden until the delay passes,
// so the largest contentful paint comes that late.
(function () {
  const main = document.querySelector("[data-testid=main]");
  window.setTimeout(() => main.classList.remove("paint-held"),
                    Number(main.dataset.paintDelayMs || 0));
})();
