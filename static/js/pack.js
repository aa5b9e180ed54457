// The pack page: +/− buttons for the number of cards, and error answers swapped in place.
// Works without this file: the number field and the plain form post do the same job.
(function () {
  "use strict";

  function setUp(root) {
    var input = root.querySelector(".stepper__input");
    if (!input) return;
    root.querySelectorAll(".stepper__button").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var min = parseInt(input.min, 10) || 1;
        var max = parseInt(input.max, 10) || min;
        var value = parseInt(input.value, 10);
        if (isNaN(value)) value = min;
        value = Math.min(max, Math.max(min, value + parseInt(button.dataset.step, 10)));
        input.value = String(value);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });

  // A refused report (422: too many cards, or a changed number) comes back as the form with its
  // message: swap it in like a success instead of treating it as an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 422 || status === 400) && event.detail.target && event.detail.target.id === "report") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // An outerHTML swap replaces #report: detail.target is the old element, so compare ids.
    var target = document.getElementById("report");
    if (!target || !event.detail.target || event.detail.target.id !== "report") return;
    setUp(target);
    if (target.classList.contains("report--thanks")) {
      target.focus();  // announce the thanks to screen readers
    } else {
      var input = target.querySelector("[aria-invalid='true']");
      if (input) input.focus();
    }
  });

  // Coming back with the Back button must not reuse an old form (and its idempotency key).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });
})();
