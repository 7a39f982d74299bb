// The agent console's live work list: server-sent events from /agent/stream replace it when it
// changes; the waiting times tick here, every second, without asking the server.
(function () {
  "use strict";
  var box = document.getElementById("work");
  var status = document.getElementById("live-status");
  if (!box || !window.EventSource) { return; }

  function tick() { window.HeraldLive.tick(box); }
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
  // Screen-pop: a live transfer put through to this agent's phone opens the customer's view at
  // once, one time per transfer (going back to the list does not open it again).
  function pop() {
    var marker = box.querySelector("[data-pop]");
    if (!marker) { return; }
    var key = "herald-popped-" + marker.getAttribute("data-handoff");
    try {
      if (window.sessionStorage.getItem(key)) { return; }
      window.sessionStorage.setItem(key, "1");
    } catch (e) { /* no storage: open it anyway */ }
    window.location.assign(marker.getAttribute("data-pop"));
  }
  tell();
  pop();
  var source = new EventSource(box.getAttribute("data-stream"));
  source.addEventListener("work", function (event) {
    box.innerHTML = event.data;
    tick();
    tell();
    pop();
  });
  source.onopen = function () { status.textContent = "● Updates live"; status.classList.remove("off"); };
  source.onerror = function () { status.textContent = "Reconnecting… (the list may be out of date)"; status.classList.add("off"); };
  setInterval(tick, 1000);
})();
