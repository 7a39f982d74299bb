// The supervisor board: server-sent events from /supervisor/stream replace the figures when one
// changes (not while a "Move to" choice is being made); waiting times tick here every second.
(function () {
  "use strict";
  var box = document.getElementById("board");
  var status = document.getElementById("live-status");
  if (!box || !window.EventSource) { return; }
  function tick() { window.HeraldLive.tick(box); }
  var announce = document.getElementById("board-announce");
  var said = null;
  function tell() {
    var summary = box.querySelector("#board-summary");
    var text = summary ? summary.textContent.trim() : "";
    if (announce && text !== said) {
      if (said !== null) { announce.textContent = text; }
      said = text;
    }
  }
  var pending = null;
  function apply(html) {
    var active = document.activeElement;
    if (active && box.contains(active) && active.tagName === "SELECT") { pending = html; return; }
    pending = null;
    box.innerHTML = html;
    tick();
    tell();
  }
  box.addEventListener("focusout", function () {
    if (pending !== null) { setTimeout(function () { if (pending !== null) { apply(pending); } }, 0); }
  });
  tell();
  tick();
  var source = new EventSource(box.getAttribute("data-stream"));
  source.addEventListener("board", function (event) { apply(event.data); });
  source.onopen = function () { status.textContent = "● Updates live"; status.classList.remove("off"); };
  source.onerror = function () { status.textContent = "Reconnecting… (the figures may be out of date)"; status.classList.add("off"); };
  setInterval(tick, 1000);
})();
