// Small behaviours the pages need, in a static file so the CSP can forbid inline script.
(function () {
  "use strict";

  // Every unsafe htmx request carries the CSRF token (read fresh from the page, never stale).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") {
      event.detail.headers["X-CSRFToken"] = meta.content;
    }
  });

  // htmx does not swap 4xx/5xx answers: tell the person something went wrong instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var status = event.detail.xhr.status;
    // The texts come translated from the page (#flash's data-msg-* attributes); English if missing.
    var texts = flash.dataset;
    var message = status === 429 ? (texts.msgBusy || "Too many requests — please wait a moment and try again.")
      : status >= 500 ? (texts.msgServer || "Something went wrong on our side. Please try again.")
      : (texts.msgFailed || "That did not work (error {status}). Please reload the page and try again.")
          .replace("{status}", String(status));
    var p = document.createElement("p");
    p.className = "flash flash--error";
    p.textContent = message;
    flash.replaceChildren(p);
  });

  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var p = document.createElement("p");
    p.className = "flash flash--error";
    p.textContent = flash.dataset.msgOffline
      || "No connection. Check your network and try again — nothing was counted twice.";
    flash.replaceChildren(p);
  });
})();

// Confirmation before destructive actions: <button data-confirm="Really?"> in any form.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
