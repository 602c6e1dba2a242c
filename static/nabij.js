"use strict";
// Progressive enhancement only: every form works without this file.
// Reflections: live word count, a copy of unsaved text in this browser, retries when a save fails,
// and restoring that copy after a reload or a new login. Nothing is shown as saved until the server says so.
(function () {
  const KEY = "nabij-draft:";
  const WORD = /[^\s\u00A0]+/g;
  const retryTimers = new WeakMap();

  function countWords(text) {
    const matches = text.match(WORD);
    return matches ? matches.length : 0;
  }

  function versionOf(textarea) {
    const input = textarea.form && textarea.form.querySelector("input[name=version]");
    return input ? input.value : "0";
  }

  function remember(textarea) {
    try {
      localStorage.setItem(KEY + textarea.dataset.autosave,
        JSON.stringify({ text: textarea.value, version: versionOf(textarea), at: Date.now() }));
    } catch (e) { /* storage full or disabled: the server copy is still the source of truth */ }
  }

  function recall(textarea) {
    try { return JSON.parse(localStorage.getItem(KEY + textarea.dataset.autosave) || "null"); } catch (e) { return null; }
  }

  function forget(textarea, savedText) {
    const copy = recall(textarea);
    if (copy && copy.text === savedText) localStorage.removeItem(KEY + textarea.dataset.autosave);
  }

  function setStatus(textarea, message, kind) {
    const status = document.getElementById(textarea.dataset.statusTarget);
    if (!status) return;
    status.textContent = "";
    const span = document.createElement("span");
    span.className = "save-status__" + kind;
    span.textContent = message;
    status.appendChild(span);
  }

  function updateWords(textarea) {
    const target = document.getElementById(textarea.dataset.wordsTarget);
    if (!target) return;
    const min = parseInt(textarea.dataset.minWords || "0", 10);
    const words = countWords(textarea.value);
    target.textContent = min ? words + " / " + min + " " + textarea.dataset.wordsLabel : words + " " + textarea.dataset.wordsLabel;
    target.classList.toggle("word-count--short", min > 0 && words < min);
  }

  function scheduleRetry(textarea) {
    const previous = retryTimers.get(textarea);
    const delay = Math.min(previous ? previous.delay * 2 : 2000, 30000);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(function () { window.htmx && htmx.trigger(textarea, "nabij:retry"); }, delay);
    retryTimers.set(textarea, { timer: timer, delay: delay });
  }

  function setUp(root) {
    root.querySelectorAll("textarea[data-autosave]").forEach(function (textarea) {
      if (textarea.dataset.ready) return;
      textarea.dataset.ready = "1";
      updateWords(textarea);
      textarea.addEventListener("input", function () { updateWords(textarea); remember(textarea); });
      const copy = recall(textarea);
      if (copy && copy.text !== textarea.value && copy.text.trim() !== "") {
        // Unsaved text from this browser (a failed save, an ended session): put it back and save it.
        // A changed version on the server makes the save report a conflict, showing both texts.
        textarea.value = copy.text;
        const input = textarea.form.querySelector("input[name=version]");
        if (input && copy.version) input.value = copy.version;
        updateWords(textarea);
        setStatus(textarea, textarea.dataset.msgRestored, "pending");
        setTimeout(function () { window.htmx && htmx.trigger(textarea, "nabij:retry"); }, 300);
      }
    });
    // After a choice, move focus to what happens next, but only if the user has not moved on
    // already (the swap removed the focused button, so focus sits on the body until we place it).
    const focus = root.querySelector("[data-focus]");
    if (focus) {
      focus.removeAttribute("data-focus");
      const active = document.activeElement;
      if (!active || active === document.body || focus.contains(active)) focus.focus();
    }
  }

  function isAutosave(event) {
    const elt = event.detail && event.detail.elt;
    return elt && elt.matches && elt.matches("textarea[data-autosave]") ? elt : null;
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (event) { setUp(event.target); });

  document.addEventListener("htmx:beforeRequest", function (event) {
    const textarea = isAutosave(event);
    if (textarea) { remember(textarea); setStatus(textarea, textarea.dataset.msgSaving, "pending"); }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const textarea = isAutosave(event);
    if (!textarea) return;
    const xhr = event.detail.xhr;
    if (event.detail.successful) {
      const sent = event.detail.requestConfig && event.detail.requestConfig.parameters;
      const text = sent && typeof sent.get === "function" ? sent.get("text") : (sent && sent.text);
      const timer = retryTimers.get(textarea);
      if (timer) { clearTimeout(timer.timer); retryTimers.delete(textarea); }
      if (typeof text === "string") forget(textarea, text);
      return;
    }
    if (xhr && xhr.status === 409) return; // the server swapped in the conflict view
    if (xhr && xhr.status === 422) return; // the server's own message is shown
    remember(textarea);
    const message = xhr && xhr.status === 401 ? textarea.dataset.msgExpired
      : xhr && xhr.status === 503 && textarea.dataset.msgStorage ? textarea.dataset.msgStorage  // disk full, read-only
      : textarea.dataset.msgFailed;
    setStatus(textarea, message, "error");
    scheduleRetry(textarea);
  });

  // 4xx/5xx responses are not swapped by default; a 409 conflict and a 422 message are meant to be.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status === 409 || status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
})();
