// The back office's behaviour (no inline scripts: the CSP allows only files from this site).
// htmx does the requests; this file adds the small touches around them.
(function () {
  "use strict";

  // "Select all" ticks every comment checkbox that belongs to the bulk form.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-select-all]")) return;
    var name = box.getAttribute("data-select-all");
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (item) {
      item.checked = box.checked;
    });
  });

  // The editor warns before leaving with unsaved text; saving clears the warning.
  var editor = document.getElementById("editor");
  if (editor) {
    var dirty = false;
    editor.addEventListener("input", function () { dirty = true; });
    editor.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  // A moderation request that fails leaves a visible note in its row instead of nothing.
  function rowError(event, message) {
    var row = event.detail.elt.closest && event.detail.elt.closest(".queue-item");
    if (!row) return;
    var note = row.querySelector(".queue-error") || document.createElement("p");
    note.className = "queue-error field-error";
    note.setAttribute("role", "alert");
    note.textContent = message;
    row.querySelector(".queue-main").appendChild(note);
  }
  document.addEventListener("htmx:responseError", function (event) {
    rowError(event, "That did not work (error " + event.detail.xhr.status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function (event) {
    rowError(event, "The server could not be reached. Try again.");
  });
})();
