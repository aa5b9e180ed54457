// The dashboard's figures refresh themselves during the December peak.
//
// Every data-refresh-seconds (DASHBOARD_REFRESH_SECONDS) the "Updated" line (#dashboard-updated) is sent
// `refresh-figures`, and htmx fetches a fresh copy of #dashboard-figures under the current filters. Not
// while the tab is hidden (it catches up when it shows again), not while the keyboard is inside the
// figures (they would be pulled from under it), and not while a staff member has paused it with the
// toggle (aria-pressed; remembered in localStorage, shared by the tabs of this browser).
(function () {
  "use strict";

  var KEY = "w4r.dashboard.autoRefreshPaused";
  var toggle = document.getElementById("dashboard-refresh-toggle");
  var pausedHere = false;  // when localStorage is not available (private mode in some browsers)
  var timer = null;
  var lastUpdate = Date.now();
  if (!document.getElementById("dashboard-figures")) return;

  function poller() { return document.getElementById("dashboard-updated"); }

  function interval() {
    var line = poller();
    var seconds = line ? Number(line.getAttribute("data-refresh-seconds")) : NaN;
    return (seconds > 0 ? seconds : 30) * 1000;
  }

  function isPaused() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (err) { return pausedHere; }
  }

  function setPaused(paused) {
    pausedHere = paused;
    try {
      if (paused) { window.localStorage.setItem(KEY, "1"); } else { window.localStorage.removeItem(KEY); }
    } catch (err) { /* remembered for this page only */ }
    showState();
  }

  function showState() {
    if (toggle) toggle.setAttribute("aria-pressed", isPaused() ? "true" : "false");
  }

  function refresh() {
    var line = poller();
    var figures = document.getElementById("dashboard-figures");
    if (!line || !window.htmx || isPaused() || document.visibilityState !== "visible") return;
    if (figures && figures.contains(document.activeElement)) return;
    window.htmx.trigger(line, "refresh-figures");
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      refresh();
      schedule();
    }, interval());
  }

  // A new copy of the figures (a refresh, or new filters): count the next interval from now.
  document.addEventListener("htmx:afterSettle", function () {
    if (!poller()) return;
    lastUpdate = Date.now();
    schedule();
  });

  // The chart's table stays open across refreshes if it was open.
  var openDetails = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dashboard-figures") {
      openDetails = Array.prototype.map.call(target.querySelectorAll("details[id][open]"), function (d) { return d.id; });
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    openDetails.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;
    });
    openDetails = [];
  });

  // Back on the tab after a while: catch up at once.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && Date.now() - lastUpdate >= interval()) refresh();
  });

  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var paused = !isPaused();
      setPaused(paused);
      if (!paused) refresh();  // resuming shows fresh figures straight away
    });
  }
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) showState();
  });

  showState();
  schedule();
})();
