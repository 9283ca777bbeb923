// Connectivity results without a reload: poll the JSON while a check runs, redraw each card.
(function () {
  "use strict";
  var root = document.getElementById("checks");
  if (!root || root.dataset.running !== "1") return;
  var MARKS = { passed: "\u2713", failed: "\u2717", skipped: "\u2013" };

  function text(tag, value, className) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (className) node.className = className;
    return node;
  }

  function draw(check) {
    var card = document.getElementById("check-" + check.platform);
    if (!card) return;
    card.dataset.outcome = check.outcome;
    var badge = card.querySelector(".badge");
    badge.className = "badge badge-" + check.outcome;
    badge.textContent = check.outcome_label;
    card.querySelector(".summary").textContent =
      check.outcome === "pending" ? "Running\u2026" : check.summary;
    var table = card.querySelector(".steps");
    table.replaceChildren();
    check.steps.forEach(function (step) {
      var row = document.createElement("tr");
      row.className = "step step-" + step.outcome;
      row.append(text("td", MARKS[step.outcome], "mark"), text("td", step.name),
        text("td", step.latency_ms + " ms", "latency"), text("td", step.message));
      table.append(row);
    });
  }

  function poll() {
    fetch(root.dataset.url, { credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (data) {
        data.checks.forEach(draw);
        var note = document.getElementById("paused-note");
        document.getElementById("paused-reason").textContent = data.paused_reason;
        note.hidden = !data.paused_reason;
        if (data.running) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
