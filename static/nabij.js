"use strict";
// Progressive enhancement only: every form works without this file.
// Reflections: live word count, a copy of unsaved text in this browser, retries when a save fails,
// and restoring that copy after a reload or a new login. Nothing is shown as saved until the server says so.
(function () {
  const KEY = "nabij-draft:";
  const WORD = /[^\s\u00A0]+/g;
  const retryTimers = new WeakMap();

  // Shared computers: drafts live under the signed-in account's opaque key (never a user id), so the
  // next student on this computer neither sees nor saves them; logout clears them (with the server's
  // Clear-Site-Data). No account, no copy.
  function owner() { return (document.body && document.body.dataset.draftOwner) || ""; }
  function keyOf(textarea) { return KEY + owner() + ":" + textarea.dataset.autosave; }

  function dropUnowned() {
    // Copies from before drafts were kept per account cannot be attributed to anyone: drop them.
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const key = localStorage.key(i);
        if (key && key.indexOf(KEY) === 0 && key.slice(KEY.length).indexOf(":") < 0) localStorage.removeItem(key);
      }
    } catch (e) { /* storage disabled */ }
  }

  function forgetAccount() {
    const mine = KEY + owner() + ":";
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const key = localStorage.key(i);
        if (key && key.indexOf(mine) === 0) localStorage.removeItem(key);
      }
    } catch (e) { /* storage disabled */ }
  }

  // The server's rule (app/content/markdown.py), sent with the textarea, so both count the same words.
  function countWords(text, pattern) {
    let rule = WORD;
    try { if (pattern) rule = new RegExp(pattern, "gu"); } catch (e) { /* an old browser: whitespace split */ }
    const matches = text.match(rule);
    return matches ? matches.length : 0;
  }

  function versionOf(textarea) {
    const input = textarea.form && textarea.form.querySelector("input[name=version]");
    return input ? input.value : "0";
  }

  function remember(textarea) {
    if (!owner()) return;
    try {
      localStorage.setItem(keyOf(textarea),
        JSON.stringify({ text: textarea.value, version: versionOf(textarea), at: Date.now() }));
    } catch (e) { /* storage full or disabled: the server copy is still the source of truth */ }
  }

  function recall(textarea) {
    if (!owner()) return null;
    try { return JSON.parse(localStorage.getItem(keyOf(textarea)) || "null"); } catch (e) { return null; }
  }

  function forget(textarea, savedText) {
    const copy = recall(textarea);
    if (copy && copy.text === savedText) localStorage.removeItem(keyOf(textarea));
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
    const words = countWords(textarea.value, textarea.dataset.wordPattern);
    target.textContent = min ? words + " / " + min + " " + textarea.dataset.wordsLabel : words + " " + textarea.dataset.wordsLabel;
    target.classList.toggle("word-count--short", min > 0 && words < min);
    // Over the limit the server refuses the text (and says so); nothing is cut off here.
    const max = parseInt(textarea.dataset.maxChars || "0", 10);
    if (max && textarea.value.length > max) {
      const over = document.createElement("span");
      over.className = "char-limit";
      over.textContent = " · " + (textarea.value.length - max).toLocaleString(document.documentElement.lang) + " " + textarea.dataset.msgTooLong;
      target.appendChild(over);
    }
  }

  function scheduleRetry(textarea) {
    const previous = retryTimers.get(textarea);
    const delay = Math.min(previous ? previous.delay * 2 : 2000, 30000);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(function () { window.htmx && htmx.trigger(textarea, "nabij:retry"); }, delay);
    retryTimers.set(textarea, { timer: timer, delay: delay });
  }

  function restore(textarea, copy) {
    // A changed version on the server makes the save report a conflict, showing both texts.
    textarea.value = copy.text;
    const input = textarea.form.querySelector("input[name=version]");
    if (input && copy.version) input.value = copy.version;
    updateWords(textarea);
    setStatus(textarea, textarea.dataset.msgRestored, "pending");
    setTimeout(function () { window.htmx && htmx.trigger(textarea, "nabij:retry"); }, 300);
  }

  function offerRestore(textarea, copy) {
    // Unsaved text from this browser (a failed save, an ended session): ask before putting it back,
    // showing how it starts, so nobody finds text in their answer they did not write.
    const box = document.createElement("div");
    box.className = "draft-offer";
    box.setAttribute("role", "group");
    const question = document.createElement("p");
    question.textContent = textarea.dataset.msgRestoreAsk;
    const start = document.createElement("blockquote");
    start.className = "draft-offer__start";
    start.textContent = copy.text.length > 160 ? copy.text.slice(0, 160) + "…" : copy.text;
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "button";
    yes.textContent = textarea.dataset.msgRestoreYes;
    const no = document.createElement("button");
    no.type = "button";
    no.className = "button button--secondary";
    no.textContent = textarea.dataset.msgRestoreNo;
    const actions = document.createElement("div");
    actions.className = "form-actions";
    actions.append(yes, no);
    box.append(question, start, actions);
    textarea.parentNode.insertBefore(box, textarea);
    yes.addEventListener("click", function () { box.remove(); restore(textarea, copy); textarea.focus(); });
    no.addEventListener("click", function () {
      box.remove();
      try { localStorage.removeItem(keyOf(textarea)); } catch (e) { /* storage disabled */ }
      textarea.focus();
    });
  }

  function setUp(root) {
    root.querySelectorAll("textarea[data-autosave]").forEach(function (textarea) {
      if (textarea.dataset.ready) return;
      textarea.dataset.ready = "1";
      updateWords(textarea);
      textarea.addEventListener("input", function () { updateWords(textarea); remember(textarea); });
      const copy = recall(textarea);
      if (copy && copy.text !== textarea.value && copy.text.trim() !== "") offerRestore(textarea, copy);
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

  function useToken(token) {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) return;
    document.body.setAttribute("data-hx-headers", JSON.stringify({ "X-CSRF-Token": token }));
    document.querySelectorAll("input[name=csrf_token]").forEach(function (input) { input.value = token; });
  }

  // Which account's page this is, so the server hands a fresh token only to that account's pages.
  document.addEventListener("htmx:configRequest", function (event) {
    if (owner()) event.detail.headers["X-Draft-Owner"] = owner();
  });

  function setUpCopyButtons(root) {
    // The field is selectable without JavaScript; the button only appears where copying works.
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        const field = document.getElementById(button.dataset.copy);
        if (!field) return;
        navigator.clipboard.writeText(field.value).then(function () {
          const label = button.textContent;
          button.textContent = button.dataset.copied;
          setTimeout(function () { button.textContent = label; }, 2000);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { dropUnowned(); setUp(document); setUpCopyButtons(document); });
  // "Use the saved text" in the conflict view: this browser's copy is the other text, which the student
  // has just seen and set aside; without this it would be offered again and start the conflict anew.
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("[data-discard-draft]");
    if (!link) return;
    try { localStorage.removeItem(KEY + owner() + ":" + link.dataset.discardDraft); } catch (e) { /* disabled */ }
  });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form && form.getAttribute && form.getAttribute("action") === "/logout") forgetAccount();
  });
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
    if (xhr && xhr.status === 403 && xhr.getResponseHeader("X-CSRF-Refresh")) {
      // Logged in again in another tab: take the new session's token and save again.
      useToken(xhr.getResponseHeader("X-CSRF-Refresh"));
      remember(textarea);
      setTimeout(function () { window.htmx && htmx.trigger(textarea, "nabij:retry"); }, 100);
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
