// The studio editor: live SMS length (counted by Herald itself) and the placeholder picker.
// The page works without it: the counts are shown again after each save.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  if (!form) { return; }
  var key = form.getAttribute("data-key");
  var csrf = document.getElementById("csrf").value;
  var lastField = null;
  var timers = {};

  form.querySelectorAll("[data-template]").forEach(function (el) {
    el.addEventListener("focus", function () { lastField = el; });
  });

  function count(area) {
    var locale = area.getAttribute("data-sms");
    var out = form.querySelector('[data-sms-count="' + locale + '"]');
    var body = new FormData();
    body.append("csrf_token", csrf);
    body.append("text", area.value);
    fetch("/admin/alert-types/" + encodeURIComponent(key) + "/sms-length", {
      method: "POST", body: body, credentials: "same-origin"
    }).then(function (r) { return r.json(); }).then(function (r) {
      if (r.error && !r.summary) { out.textContent = r.error; return; }
      var text = r.summary + " with the example values. With long names and amounts: " +
        r.long_segments + " segment(s), limit " + r.max_segments + ". " + r.cost_note;
      if (r.error) { text = "This text " + r.error + " " + text; }
      if (r.over_limit) { text = "Too long: " + text; }
      out.textContent = text;
      out.classList.toggle("over", !!r.over_limit);
    }).catch(function () { out.textContent = "Could not count the length (is Herald running?)."; });
  }

  form.querySelectorAll("textarea[data-sms]").forEach(function (area) {
    area.addEventListener("input", function () {
      var locale = area.getAttribute("data-sms");
      clearTimeout(timers[locale]);
      timers[locale] = setTimeout(function () { count(area); }, 200);
    });
  });

  document.querySelectorAll("[data-placeholder]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = lastField || form.querySelector("textarea[data-template]");
      if (!field) { return; }
      var name = button.getAttribute("data-placeholder");
      var insert = field.id === "f-condition" ? name : "{{ " + name + " }}";
      var start = field.selectionStart || 0, end = field.selectionEnd || 0;
      field.value = field.value.slice(0, start) + insert + field.value.slice(end);
      field.focus();
      field.selectionStart = field.selectionEnd = start + insert.length;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
}());
