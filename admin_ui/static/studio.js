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
    body.append("locale", locale);
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
  form.setAttribute("data-live", "on");  // the counts now follow typing (a test waits for this)

  document.querySelectorAll("[data-placeholder]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = lastField || form.querySelector("textarea[data-template]");
      if (!field) { return; }
      var name = button.getAttribute("data-placeholder");
      var insert = field.id === "f-condition"
        ? (button.getAttribute("data-condition") || name) : "{{ " + name + " }}";
      var start = field.selectionStart || 0, end = field.selectionEnd || 0;
      field.value = field.value.slice(0, start) + insert + field.value.slice(end);
      field.focus();
      field.selectionStart = field.selectionEnd = start + insert.length;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
}());

// Response options and the channels' order: drag a row by its handle to reorder (the Up and
// Down buttons do the same from the keyboard, through the server). Letting go saves the draft.
(function () {
  "use strict";
  document.querySelectorAll("[data-sortable]").forEach(function (list) {
    var dragged = null, before = "";
    function order() {
      return Array.prototype.map.call(list.querySelectorAll("[data-row]"),
        function (row) { return row.querySelector("input").value; }).join(",");
    }
    list.addEventListener("dragover", function (e) { if (dragged) { e.preventDefault(); } });
    list.addEventListener("drop", function (e) { if (dragged) { e.preventDefault(); } });
    list.querySelectorAll("[data-row]").forEach(function (row) {
      var intent = row.querySelector("select[name=opt_intent]");
      var endpoint = row.querySelector("[data-endpoint]");
      if (intent && endpoint) {
        intent.addEventListener("change", function () {  // the address is for transactions
          endpoint.hidden = intent.value !== "transaction" && !endpoint.querySelector("input").value;
        });
      }
      var fromHandle = false;
      row.setAttribute("draggable", "true");
      row.addEventListener("mousedown", function (e) {
        fromHandle = !!e.target.closest(".handle");
      });
      row.addEventListener("dragstart", function (e) {
        if (!fromHandle) { e.preventDefault(); return; }  // a row moves by its handle only
        dragged = row;
        before = order();
        row.classList.add("dragging");
        e.dataTransfer.effectAllowed = "move";
        e.dataTransfer.setData("text/plain", "row");
      });
      row.addEventListener("dragover", function (e) {
        if (!dragged || dragged === row) { return; }
        var box = row.getBoundingClientRect();
        list.insertBefore(dragged, e.clientY > box.top + box.height / 2 ? row.nextSibling : row);
      });
      row.addEventListener("dragend", function () {
        row.classList.remove("dragging");
        dragged = null;
        if (order() !== before) {
          var form = document.getElementById("editor");
          form.requestSubmit(form.querySelector('button[name="action"][value="save"]'));
        }
      });
    });
  });
}());
