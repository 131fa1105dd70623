// Images in the back office (no inline scripts: the CSP allows only files from this site).
// The editor: "Add image", drag and drop, paste; each image uploads in place with a progress
// indicator, then asks for its alternative text (and an optional caption) and inserts its
// Markdown where the cursor was. The media library: "Copy" buttons for an image's Markdown.
// Without JavaScript the library's upload form does the same work, one page at a time.
(function () {
  "use strict";

  function csrfToken() {
    var field = document.querySelector('input[name="csrf_token"]');
    if (field) return field.value;
    try {
      return JSON.parse(document.body.getAttribute("data-hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  }

  // --- The library: copy an image's Markdown --------------------------------------------

  document.querySelectorAll("[data-copy]").forEach(function (button) { button.hidden = false; });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) { button.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // --- The editor -------------------------------------------------------------------------

  var tools = document.getElementById("media-tools");
  var body = document.getElementById("body");
  var dialog = document.getElementById("image-details");
  if (!tools || !body || !dialog) return;
  tools.hidden = false;

  var picker = document.getElementById("add-image-file");
  var status = document.getElementById("media-progress");
  var maxBytes = parseInt(tools.getAttribute("data-max-bytes"), 10) || 0;
  var queue = [];
  var busy = false;
  var counter = 0;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("field-error", !!isError);
  }

  function showProgress(name, percent) {
    status.classList.remove("field-error");
    status.textContent = "";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = percent;
    bar.id = "media-progress-bar";
    status.appendChild(bar);
    status.appendChild(document.createTextNode(" Uploading " + name + "… " + percent + "%"));
  }

  function changed() {
    // The live preview and the "unsaved changes" warning both listen for input.
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // A placeholder keeps the image's place while it uploads, whatever else is typed meanwhile.
  // An HTML comment: the preview shows nothing for it. The image gets a paragraph of its own
  // (a caption needs that), so blank lines surround it where the text has none.
  function insertPlaceholder(name) {
    counter += 1;
    var marker = "<!-- uploading " + name.replace(/-->/g, "") + " (" + counter + ") -->";
    var start = body.selectionStart;
    var end = body.selectionEnd;
    var before = body.value.slice(0, start);
    var after = body.value.slice(end);
    var prefix = before === "" || /\n\n$/.test(before) ? "" : (/\n$/.test(before) ? "\n" : "\n\n");
    var suffix = after === "" || /^\n\n/.test(after) ? "" : (/^\n/.test(after) ? "\n" : "\n\n");
    body.value = before + prefix + marker + suffix + after;
    var caret = (before + prefix + marker).length;
    body.setSelectionRange(caret, caret);
    changed();
    return marker;
  }

  function replacePlaceholder(marker, text) {
    var at = body.value.indexOf(marker);
    if (at === -1) {
      at = body.selectionStart;
      body.value = body.value.slice(0, at) + text + body.value.slice(at);
    } else {
      body.value = body.value.slice(0, at) + text + body.value.slice(at + marker.length);
      if (text === "") body.value = body.value.replace(/\n{3,}/g, "\n\n");
    }
    var caret = Math.min(at + text.length, body.value.length);
    body.focus();
    body.setSelectionRange(caret, caret);
    changed();
  }

  function enqueue(files) {
    Array.prototype.forEach.call(files, function (file) {
      if (maxBytes && file.size > maxBytes) {
        say(file.name + " is " + (file.size / 1048576).toFixed(1) + " MB; an image may be at most " +
            tools.getAttribute("data-max-words") + ". Make it smaller and try again.", true);
        return;
      }
      queue.push({ file: file, marker: insertPlaceholder(file.name || "image") });
    });
    next();
  }

  function next() {
    if (busy || !queue.length) return;
    busy = true;
    upload(queue.shift());
  }

  function finish() {
    busy = false;
    next();
  }

  function upload(item) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", tools.getAttribute("data-upload-url"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) showProgress(item.file.name, Math.round((100 * event.loaded) / event.total));
    });
    xhr.addEventListener("load", function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (error) { data = null; }
      if ((xhr.status === 200 || xhr.status === 201) && data && data.url) {
        say("Uploaded " + item.file.name + ".", false);
        ask(item, data);
      } else {
        fail(item, data && data.error ? data.error : "The upload failed (error " + xhr.status + "). Try again.");
      }
    });
    xhr.addEventListener("error", function () {
      fail(item, "The server could not be reached: check the connection and try again.");
    });
    showProgress(item.file.name, 0);
    var form = new FormData();
    form.append("file", item.file, item.file.name || "image");
    xhr.send(form);
  }

  function fail(item, message) {
    replacePlaceholder(item.marker, "");
    say((item.file.name ? item.file.name + ": " : "") + message, true);
    finish();
  }

  function escapeAlt(text) {
    return text.replace(/\\/g, "\\\\").replace(/\[/g, "\\[").replace(/\]/g, "\\]").replace(/\s+/g, " ").trim();
  }

  function escapeTitle(text) {
    return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\s+/g, " ").trim();
  }

  function ask(item, data) {
    var altField = document.getElementById("image-alt");
    var captionField = document.getElementById("image-caption");
    var holder = document.getElementById("image-details-picture");
    holder.textContent = "";
    var preview = document.createElement("img");
    preview.src = data.url;
    preview.alt = "";
    preview.width = data.width;
    preview.height = data.height;
    holder.appendChild(preview);
    altField.value = data.alt || "";
    captionField.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "insert") {
        replacePlaceholder(item.marker, "");
        say(item.file.name + " was not inserted; it stays in the media library.", false);
        finish();
        return;
      }
      var alt = escapeAlt(altField.value);
      var caption = escapeTitle(captionField.value);
      var markdown = "![" + alt + "](" + data.url + (caption ? ' "' + caption + '"' : "") + ")";
      replacePlaceholder(item.marker, markdown);
      say("Inserted " + item.file.name + (alt ? "." : " without alternative text."), !alt);
      if (alt && !data.alt && data.alt_url) saveAlt(data.alt_url, altField.value);
      finish();
    });
    dialog.showModal();
    altField.focus();
  }

  // The first alternative text typed for an image becomes the library's suggestion for it.
  function saveAlt(url, text) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    var form = new FormData();
    form.append("alt", text);
    xhr.send(form);
  }

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  document.getElementById("add-image").addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    if (picker.files.length) enqueue(picker.files);
    picker.value = "";
  });
  body.addEventListener("dragover", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    body.classList.add("drop-target");
  });
  body.addEventListener("dragleave", function () { body.classList.remove("drop-target"); });
  body.addEventListener("drop", function (event) {
    body.classList.remove("drop-target");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    event.preventDefault();
    enqueue(files);
  });
  body.addEventListener("paste", function (event) {
    var files = event.clipboardData && event.clipboardData.files;
    if (!files || !files.length) return;
    event.preventDefault();
    enqueue(files);
  });
})();
