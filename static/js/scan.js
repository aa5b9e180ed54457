// The staff scan station: keep the scan field focused, tell a scan from a count, camera scanning.
(function () {
  "use strict";

  var input = document.getElementById("scan-input");
  var form = document.getElementById("scan-form");
  if (!input || !form) return;

  function isTyping(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "SUMMARY");
  }

  // The scan field keeps focus: whenever nothing else useful has it, it comes back.
  function refocusSoon() {
    setTimeout(function () {
      if (!isTyping(document.activeElement)) input.focus();
    }, 0);
  }
  document.addEventListener("focusout", refocusSoon);
  document.addEventListener("click", refocusSoon);

  // After a scan is sent, clear the field for the next one.
  form.addEventListener("htmx:beforeRequest", function () {
    setTimeout(function () { input.value = ""; }, 0);
  });

  // Refused counts (422) come back as the station with the message next to the field: swap them in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422 && event.detail.target && event.detail.target.id === "station") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // After the station area changes: the count field if a pack is waiting for one (htmx focuses
  // [autofocus]), else back to the scan field.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "station") {
      var count = document.getElementById("scan-cards");
      if (count) { count.focus(); count.select(); } else { input.focus(); }
    } else {
      refocusSoon();
    }
  });

  // The scanner fired while the count field had focus: what arrived is a scan, not a count.
  document.addEventListener("submit", function (event) {
    if (event.target.id !== "scan-count-form") return;
    var count = document.getElementById("scan-cards");
    var value = count ? count.value.trim() : "";
    if (/[^0-9]/.test(value) || value.length > 4) {
      event.preventDefault();
      event.stopImmediatePropagation();
      count.value = "";
      input.value = value;
      form.requestSubmit();
    }
  }, true);

  // --- Camera scanning (where the browser can), with a short beep on success ----------------------
  var button = document.getElementById("camera-toggle");
  var box = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  if (!button || !box || !video || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  button.hidden = false;

  var scanner = null;
  var audio = null;
  var lastText = "";
  var lastAt = 0;

  function beep() {
    if (!audio) return;
    try {
      var now = audio.currentTime;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = 1320;
      gain.gain.setValueAtTime(0.25, now);
      gain.gain.exponentialRampToValueAtTime(0.001, now + 0.15);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(now);
      osc.stop(now + 0.16);
    } catch (err) { /* no sound, no harm */ }
  }

  function loadLibrary(src) {
    return new Promise(function (resolve, reject) {
      if (window.QrScanner) { resolve(window.QrScanner); return; }
      var script = document.createElement("script");
      script.src = src;
      script.onload = function () { resolve(window.QrScanner); };
      script.onerror = function () { reject(new Error("the scanner library did not load")); };
      document.head.appendChild(script);
    });
  }

  function onDecode(result) {
    var text = (result && result.data) || "";
    var now = Date.now();
    if (!text || (text === lastText && now - lastAt < 4000)) return;  // the same code still in view
    lastText = text;
    lastAt = now;
    beep();
    input.value = text;
    form.requestSubmit();
  }

  function stop() {
    if (scanner) { scanner.stop(); scanner.destroy(); scanner = null; }
    box.hidden = true;
    button.textContent = "Use camera";
    button.setAttribute("aria-pressed", "false");
    input.focus();
  }

  button.addEventListener("click", function () {
    if (scanner) { stop(); return; }
    var AudioCtx = window.AudioContext || window.webkitAudioContext;
    if (!audio && AudioCtx) audio = new AudioCtx();  // created on a click, so browsers let it play
    box.hidden = false;
    status.textContent = "Starting the camera…";
    loadLibrary(button.dataset.scannerSrc).then(function (QrScanner) {
      scanner = new QrScanner(video, onDecode, { returnDetailedScanResult: true, preferredCamera: "environment", maxScansPerSecond: 8 });
      return scanner.start();
    }).then(function () {
      status.textContent = "Hold a pack's QR code in front of the camera.";
      button.textContent = "Stop camera";
      button.setAttribute("aria-pressed", "true");
    }).catch(function (err) {
      if (scanner) { scanner.destroy(); scanner = null; }
      status.textContent = "The camera did not start (" + ((err && err.message) || err) + "). Use the scanner or type the code.";
    });
  });
})();
