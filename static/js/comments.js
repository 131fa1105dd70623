// Comments in place: what htmx cannot say with attributes alone (a strict CSP forbids inline code).
// - a 4xx answer that names its own target (HX-Reswap) is shown, e.g. an expired form;
// - a network failure or a server error leaves the typed text alone and says what happened;
// - focus stays in the form; a comment already on the page is never appended twice;
// - the poll skips hidden tabs; times are shown in the reader's own time zone;
// - a reader who starts writing gets a fresh form stamp (the page may come from a cache);
// - editing one's own comment: the text is focused when its form appears, the comment (its
//   Edit link) when it comes back, and deleting asks first.
(function () {
  "use strict";

  var FAILED =
    "Your comment could not be sent: the connection failed. Nothing you typed was lost; please try again.";
  var SERVER =
    "The blog could not save your comment just now. Nothing you typed was lost; please try again in a moment.";
  var FIELDS = ["author_name", "author_email", "author_url", "body"];
  var moving = null;

  function form() {
    return document.getElementById("comment-form");
  }

  function inComments(elt) {
    return elt && elt.closest && elt.closest("#comments");
  }

  function showAlert(message) {
    var alert = document.getElementById("comment-form-alert");
    if (!alert) return;
    alert.textContent = message;
    alert.hidden = false;
  }

  function localTimes(root) {
    if (!window.Intl || !root.querySelectorAll) return;
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeStyle: "short" });
    root.querySelectorAll(".comment time[datetime]").forEach(function (time) {
      if (time.dataset.local) return;
      var when = new Date(time.getAttribute("datetime"));
      if (isNaN(when)) return;
      time.title = time.textContent.trim();
      time.textContent = format.format(when);
      time.dataset.local = "1";
    });
  }

  // A 4xx that says where it goes (HX-Retarget + HX-Reswap) is a message for the reader.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!inComments(event.detail.elt)) return;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Reswap")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.id === "comment-poll" && document.hidden) {
      event.preventDefault();
      return;
    }
    var current = form();
    if (current && current.contains(elt)) {
      var alert = document.getElementById("comment-form-alert");
      if (alert) alert.hidden = true;
    }
    // Moving the form under a comment (or back) keeps what the reader already typed.
    if (elt.hasAttribute("data-comment-form-move") && current) {
      moving = { from: elt };
      FIELDS.forEach(function (name) {
        var input = current.elements[name];
        if (input) moving[name] = input.value;
      });
      if (current.elements.remember) moving.remember = current.elements.remember.checked;
      if (current.elements.subscribe) moving.subscribe = current.elements.subscribe.value;
    }
  });

  function failed(event, message) {
    var elt = event.detail.elt;
    if (elt.id === "comment-poll") return; // the next poll tries again
    var current = form();
    if (current && (current === elt || current.contains(elt) || elt.hasAttribute("data-comment-form-move"))) {
      moving = null;
      showAlert(message);
    }
  }
  document.addEventListener("htmx:sendError", function (event) {
    failed(event, FAILED);
  });
  document.addEventListener("htmx:responseError", function (event) {
    failed(event, SERVER);
  });

  // Never append a comment that is already on the page (the reader's own, or a late poll).
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var fragment = event.detail.fragment;
    if (target.id === "comment-after") {
      var incoming = fragment.querySelector ? fragment.querySelector("#comment-after") : null;
      incoming = incoming || fragment.firstElementChild || fragment;
      if (incoming && Number(incoming.value) < Number(target.value)) event.detail.shouldSwap = false;
      return;
    }
    if (!fragment.querySelectorAll) return;
    fragment.querySelectorAll("article.comment[id]").forEach(function (article) {
      if (document.getElementById(article.id)) {
        var item = article.closest("li") || article;
        item.remove();
      }
    });
  });

  // The moved form gets the typed text back as soon as it is in the page (not after the
  // settle delay, when a reader may already be typing). Only the move's own answer does it:
  // a poll answering meanwhile must not.
  document.addEventListener("htmx:afterSwap", function (event) {
    var current = form();
    var config = event.detail.requestConfig;
    if (!current || !moving || !config || config.elt !== moving.from) return;
    FIELDS.forEach(function (name) {
      var input = current.elements[name];
      if (input && moving[name]) input.value = moving[name];
    });
    if (current.elements.remember && moving.remember) current.elements.remember.checked = true;
    if (current.elements.subscribe && moving.subscribe) current.elements.subscribe.value = moving.subscribe;
    moving = null;
    current.elements.body.focus();
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var current = form();
    if (!current || !inComments(event.detail.elt)) return;
    var config = event.detail.requestConfig;
    if (config && config.elt && config.elt.hasAttribute("data-comment-form-move")) return;
    var invalid = current.querySelector("[aria-invalid='true']");
    if (invalid && event.detail.xhr && event.detail.xhr.status === 422) {
      invalid.focus();
    } else if (!current.contains(document.activeElement) && event.detail.requestConfig &&
               event.detail.requestConfig.verb === "post") {
      current.elements.body.focus();
    }
  });

  // The form of a shared page carries the time the page was made, which may be long ago. When
  // the reader first goes into the form, ask for the time now (a tiny uncached request): the
  // spam check counts from it. Readers who only read cost the blog nothing. Without it (no
  // JavaScript, or the request failed) the blog asks to confirm the comment once instead.
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    var current = target && target.closest ? target.closest("form[data-stamp-url]") : null;
    if (!current || current.dataset.stampAsked || !window.fetch) return;
    current.dataset.stampAsked = "1";
    fetch(current.dataset.stampUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (stamp) {
        var issued = current.elements.issued;
        if (stamp && issued) issued.value = stamp.trim();
      })
      .catch(function () {
        delete current.dataset.stampAsked; // try again at the next focus
      });
  });

  // Editing one's own comment in place (templates/comments/_edit.html).
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.id || target.id.indexOf("comment-") !== 0) return;
    var swapped = document.getElementById(target.id);
    if (!swapped || !swapped.classList.contains("comment")) return;
    if (swapped.classList.contains("comment-editing")) {
      var body = swapped.querySelector("textarea[name='body']");
      var invalid = swapped.querySelector("[aria-invalid='true']");
      (invalid || body).focus();
    } else {
      var link = swapped.querySelector(".comment-edit-link");
      if (link) link.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest(".comment-delete") : null;
    if (!button) return;
    if (!window.confirm("Delete your comment? This cannot be undone.")) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("htmx:load", function (event) {
    localTimes(event.detail.elt);
  });
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
  });
})();
