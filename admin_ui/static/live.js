// Shared by the live pages (agent console, supervisor board): how long something has waited,
// in words, and the waiting times that tick every second without asking the server.
(function () {
  "use strict";
  function words(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) { return s + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s"; }
    return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }
  function tick(box) {
    var now = Date.now();
    box.querySelectorAll("time[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) { el.textContent = words((now - since) / 1000); }
    });
  }
  window.HeraldLive = { words: words, tick: tick };
})();
