// The per-collection page: while the collection is in progress, read GET /api/collections/{id}
// every two seconds (the session cookie signs the request in) and show its progress; when it ends,
// reload the page, which the server then renders with the final row, the summary and the report.
"use strict";
(function () {
  var section = document.getElementById("collection");
  if (!section || section.dataset.status !== "in progress") { return; }
  var id = section.dataset.id;
  var ended = false;
  function text(elementId, value) {
    var el = document.getElementById(elementId);
    if (el) { el.textContent = value; }
  }
  function poll() {
    fetch("/api/collections/" + encodeURIComponent(id), {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (row) {
        if (!row) { return; }
        if (row.status !== "in progress") { ended = true; window.location.reload(); return; }
        var p = row.progress;
        if (p) {
          document.getElementById("bar").value = p.percent;
          text("percent", String(p.percent));
          text("bytes", p.bytesDone + " of " + p.bytesTotal);
          document.getElementById("waiting").hidden = !p.waitingFor;
          text("waitingFor", p.waitingFor || "");
          text("lastLine", p.lastLine || "");
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { if (!ended) { window.setTimeout(poll, 2000); } });
  }
  window.setTimeout(poll, 2000);
})();
