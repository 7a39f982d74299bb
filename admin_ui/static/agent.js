// The agent console's live work list: server-sent events from /agent/stream replace it when it
// changes; the waiting times tick here, every second, without asking the server.
(function () {
  "use strict";
  var box = document.getElementById("work");
  var status = document.getElementById("live-status");
  if (!box || !window.EventSource) { return; }

  function words(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) { return s + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s"; }
    return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }
  function tick() {
    var now = Date.now();
    box.querySelectorAll("time[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) { el.textContent = words((now - since) / 1000); }
    });
  }
  // Screen readers hear how many are waiting when it changes, not every ticking second.
  var announce = document.getElementById("work-announce");
  var said = null;
  function tell() {
    var count = box.querySelector("#waiting-count");
    var text = (count ? count.textContent.trim() : "0") + " waiting in your queues";
    if (announce && text !== said) {
      if (said !== null) { announce.textContent = text; }
      said = text;
    }
  }
  tell();
  var source = new EventSource(box.getAttribute("data-stream"));
  source.addEventListener("work", function (event) {
    box.innerHTML = event.data;
    tick();
    tell();
  });
  source.onopen = function () { status.textContent = "● Updates live"; status.classList.remove("off"); };
  source.onerror = function () { status.textContent = "Reconnecting… (the list may be out of date)"; status.classList.add("off"); };
  setInterval(tick, 1000);
})();
