// Live events without a reload: every 2 s while the tab is visible (and not paused), ask for
// rows newer than the newest shown and redraw the rows still on their way to Braze.
(function () {
  "use strict";
  var list = document.getElementById("live-events");
  if (!list) return;
  var pause = document.getElementById("live-pause");
  var status = document.getElementById("live-status");
  var newest = list.dataset.newest;
  var paused = false;
  var PERIOD = 2000;

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content.firstElementChild;
  }

  function unsettled() {
    var rows = list.querySelectorAll("details[data-unsettled]");
    return Array.prototype.slice.call(rows, 0, 200).map(function (row) { return row.dataset.id; });
  }

  function redraw(id, html) {
    var row = document.getElementById("event-" + id);
    var fresh = fragment(html);
    if (!row || !fresh) return;
    fresh.open = row.open;
    row.replaceWith(fresh);
  }

  function add(rows) {
    var empty = document.getElementById("live-empty");
    if (empty && rows.length) empty.remove();
    rows.slice().reverse().forEach(function (html) {
      var row = fragment(html);
      if (row && !document.getElementById(row.id)) list.prepend(row);
    });
  }

  function url() {
    var query = new URLSearchParams(list.dataset.query);
    query.set("after", newest);
    query.set("refresh", unsettled().join(","));
    return list.dataset.url + "?" + query.toString();
  }

  function poll() {
    if (paused || document.visibilityState !== "visible") {
      window.setTimeout(poll, PERIOD);
      return;
    }
    fetch(url(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) throw new Error("HTTP " + answer.status);
        return answer.json();
      })
      .then(function (data) {
        add(data.rows);
        Object.keys(data.updates).forEach(function (id) { redraw(id, data.updates[id]); });
        newest = data.newest;
        status.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
        window.setTimeout(poll, data.more ? 200 : PERIOD);
      })
      .catch(function () {
        status.textContent = "Could not update; trying again.";
        window.setTimeout(poll, PERIOD * 2);
      });
  }

  pause.hidden = false;
  pause.addEventListener("click", function () {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    status.textContent = paused ? "Paused." : "Updated as events arrive.";
  });
  window.setTimeout(poll, PERIOD);
})();
