"use strict";
// The privacy guard in the browser: before a reflection is submitted, warn when the text seems to
// identify someone (a name, BSN, national register number, phone, e-mail, address, birth date), with
// the same rules as the server (app/services/privacy_guard.py). The rules come from the server as JSON
// in the page (<script type="application/json" class="privacy-guard-rules">); only the steps that are
// not a pattern (the name chain, the checksums) are written out here, and tests/test_privacy_guard.py
// runs this file and the server's on the same samples. Nothing is sent anywhere: the check runs here.
// Without this file (or JavaScript) the server makes the same check when the form is submitted.
(function (root) {
  function Guard(rules) {
    this.rules = rules;
    const p = rules.patterns;
    this.re = {};
    for (const name in p) this.re[name] = new RegExp(p[name], "g");
    this.houseNumber = new RegExp(p.house_number, "y");
    this.set = {};
    ["first_names", "particles", "titles", "openers", "non_names"].forEach((name) => {
      this.set[name] = new Set(rules[name]);
    });
  }

  function digitsOf(value) { return value.replace(/[^0-9]/g, ""); }

  function allMatches(regex, text) {
    regex.lastIndex = 0;
    const out = [];
    let m;
    while ((m = regex.exec(text)) !== null) {
      out.push(m);
      if (m[0] === "") regex.lastIndex++;
    }
    return out;
  }

  Guard.prototype.isBsn = function (digits) {
    if (digits.length !== 9) return false;
    const weights = [9, 8, 7, 6, 5, 4, 3, 2, -1];
    let total = 0;
    for (let i = 0; i < 9; i++) total += Number(digits[i]) * weights[i];
    return total !== 0 && total % 11 === 0;
  };

  Guard.prototype.isRrn = function (digits) {
    if (digits.length !== 11) return false;
    const base = Number(digits.slice(0, 9));
    const check = Number(digits.slice(9));
    return check === 97 - (base % 97) || check === 97 - ((2000000000 + base) % 97);
  };

  Guard.prototype.isPhone = function (value) {
    let digits = digitsOf(value.split("(0)").join(""));
    if (value.startsWith("+") || value.startsWith("00")) {
      if (digits.startsWith("00")) digits = digits.slice(2);
      const country = digits.slice(0, 2);
      const rest = digits.slice(2);
      if (!rest || rest[0] === "0") return false;
      return (country === "31" && rest.length === 9) || (country === "32" && (rest.length === 8 || rest.length === 9));
    }
    return digits.startsWith("0") && digits.slice(1, 2) !== "0" && (digits.length === 9 || digits.length === 10);
  };

  function daysInMonth(year, month) { return new Date(Date.UTC(year, month, 0)).getUTCDate(); }

  Guard.prototype.isBirthDate = function (text, start, day, month, year, referenceYear) {
    const r = this.rules;
    if (!(year >= 1900 && year <= referenceYear) || !(month >= 1 && month <= 12)) return false;
    if (day > daysInMonth(year, month)) return false;
    const before = text.slice(Math.max(0, start - r.birth_context), start).toLowerCase();
    return r.birth_words.some((word) => before.indexOf(word) >= 0) || year <= referenceYear - r.birth_years_back;
  };

  Guard.prototype.isCapitalised = function (word) { this.re.capitalised.lastIndex = 0; return this.re.capitalised.test(word); };

  Guard.prototype.gap = function (text, left, right, kind) {
    const regex = this.re[kind];
    regex.lastIndex = 0;
    return regex.test(text.slice(left.end, right.start));
  };

  Guard.prototype.sentenceStart = function (text, position) {
    const r = this.rules;
    let index = position - 1;
    while (index >= 0 && r.skip_before_word.indexOf(text[index]) >= 0) index--;
    return index < 0 || r.sentence_end.indexOf(text[index]) >= 0;
  };

  Guard.prototype.firstName = function (word) {
    const names = this.set.first_names;
    if (names.has(word)) return true;
    if (word.indexOf("-") >= 0) {
      const parts = word.split("-");
      if (names.has(parts[0]) && parts.every((part) => this.isCapitalised(part))) return true;
    }
    for (const suffix of ["'s", "\u2019s", "s"]) {
      const base = word.slice(0, word.length - suffix.length);
      if (word.endsWith(suffix) && base.length >= 3 && names.has(base)) return true;
    }
    return false;
  };

  Guard.prototype.surnameAfter = function (text, words, index, gap) {
    const s = this.set;
    let current = words[index];
    let position = index + 1;
    let particles = 0;
    while (position < words.length) {
      const word = words[position];
      if (!this.gap(text, current, word, position === index + 1 ? gap : "name_gap")) return null;
      const lowered = word.text.toLowerCase();
      if (s.particles.has(lowered) && particles < 3) {
        particles++;
        current = word;
        position++;
        continue;
      }
      if (this.isCapitalised(word.text) && !s.openers.has(lowered) && !s.non_names.has(lowered)
          && !(particles === 0 && s.first_names.has(word.text))) return position;
      return null;
    }
    return null;
  };

  Guard.prototype.names = function (text, words) {
    const s = this.set;
    const found = [];
    let index = 0;
    while (index < words.length) {
      const word = words[index];
      const lowered = word.text.toLowerCase();
      let end = null;
      if (s.titles.has(lowered)) {
        end = this.surnameAfter(text, words, index, "title_gap");
        if (end === null) { index++; continue; }
      } else if (word.text.length === 1 && word.text >= "A" && word.text <= "Z") {
        end = this.surnameAfter(text, words, index, "initial_gap");
        if (end === null) { index++; continue; }
      } else if (!this.isCapitalised(word.text) || s.openers.has(lowered) || s.non_names.has(lowered)
                 || s.particles.has(lowered)) {
        index++;
        continue;
      } else if (this.firstName(word.text)) {
        end = this.surnameAfter(text, words, index, "name_gap");
        if (end === null) end = index;
      } else if (!this.sentenceStart(text, word.start)) {
        end = this.surnameAfter(text, words, index, "name_gap");
      }
      if (end === null) { index++; continue; }
      found.push({ kind: "name", text: text.slice(word.start, words[end].end), start: word.start, end: words[end].end });
      index = end + 1;
    }
    return found;
  };

  Guard.prototype.addresses = function (text, words) {
    const s = this.set;
    const suffixes = this.rules.street_suffixes;
    const found = [];
    const numberAt = (position) => {
      this.houseNumber.lastIndex = position;
      const m = this.houseNumber.exec(text);
      return m ? position + m[0].length : null;
    };
    words.forEach((word, index) => {
      const lowered = word.text.toLowerCase();
      if (!this.isCapitalised(word.text) || s.non_names.has(lowered)
          || !suffixes.some((suffix) => lowered.endsWith(suffix))) return;
      let last = index;
      if (suffixes.indexOf(lowered) >= 0) {
        const following = this.surnameAfter(text, words, index, "name_gap");
        if (following !== null && following - index <= 3) last = following;
      }
      let end = numberAt(words[last].end);
      if (end === null && last !== index) {
        last = index;
        end = numberAt(word.end);
      }
      if (end === null) return;
      let first = index;
      if (index > 0) {
        const before = words[index - 1];
        const loweredBefore = before.text.toLowerCase();
        const partOfName = this.isCapitalised(before.text) && !s.openers.has(loweredBefore)
          && !s.non_names.has(loweredBefore) && !this.sentenceStart(text, before.start);
        if ((partOfName || ["Van", "De", "Sint"].indexOf(before.text) >= 0) && this.gap(text, before, word, "name_gap")) {
          first = index - 1;
        }
      }
      found.push({ kind: "address", text: text.slice(words[first].start, end), start: words[first].start, end: end });
    });
    return found;
  };

  function baseOf(word) {
    for (const suffix of ["'s", "\u2019s"]) if (word.endsWith(suffix)) return word.slice(0, word.length - suffix.length);
    return word;
  }

  Guard.prototype.knownName = function (finding, known) {
    // Every part of the name (not its particles, title or initial) occurs in the module's own text.
    const s = this.set;
    const parts = allMatches(this.re.word, finding.text).map((m) => m[0])
      .filter((w) => w.length > 1 && !s.particles.has(w.toLowerCase()) && !s.titles.has(w.toLowerCase()));
    return parts.length > 0 && parts.every((w) => known.has(baseOf(w)) || (w.endsWith("s") && known.has(w.slice(0, -1)))
      || known.has(w));
  };

  Guard.prototype.find = function (text, referenceYear, knownWords) {
    const r = this.rules;
    const year = referenceYear || r.reference_year;
    const known = new Set(knownWords || []);
    const found = [];
    const add = (kind, m) => found.push({ kind: kind, text: m[0], start: m.index, end: m.index + m[0].length });
    allMatches(this.re.email, text).forEach((m) => add("email", m));
    ["phone_international", "phone_national"].forEach((name) => {
      allMatches(this.re[name], text).forEach((m) => { if (this.isPhone(m[0])) add("phone", m); });
    });
    allMatches(this.re.bsn, text).forEach((m) => { if (this.isBsn(digitsOf(m[0]))) add("bsn", m); });
    allMatches(this.re.rrn, text).forEach((m) => { if (this.isRrn(digitsOf(m[0]))) add("rrn", m); });
    [["date_numeric", [1, 3, 4]], ["date_iso", [3, 2, 1]], ["date_written", [1, 2, 3]]].forEach(([name, order]) => {
      allMatches(this.re[name], text).forEach((m) => {
        const day = Number(m[order[0]]);
        const month = name === "date_written" ? r.months[m[order[1]].toLowerCase()] : Number(m[order[1]]);
        if (this.isBirthDate(text, m.index, day, month, Number(m[order[2]]), year)) add("birthdate", m);
      });
    });
    allMatches(this.re.postcode, text).forEach((m) => add("address", m));
    const words = allMatches(this.re.word, text).map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
    this.addresses(text, words).forEach((f) => found.push(f));
    this.names(text, words).forEach((f) => { if (!this.knownName(f, known)) found.push(f); });
    found.sort((a, b) => a.start - b.start || (b.end - b.start) - (a.end - a.start));
    const kept = [];
    found.forEach((f) => { if (!kept.length || f.start >= kept[kept.length - 1].end) kept.push(f); });
    return kept;
  };

  Guard.prototype.summary = function (findings) {
    const seen = new Set();
    return findings.filter((f) => {
      const key = f.kind + "\u0000" + f.text;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };

  root.NabijPrivacyGuard = Guard;
  if (typeof module !== "undefined" && module.exports) module.exports = Guard;  // node, for the tests

  if (typeof document === "undefined") return;

  // -- in the page: warn before a reflection is submitted ------------------------------------------

  let guard;
  let known = [];
  function loadGuard() {
    if (guard) return guard;
    const data = document.querySelector("script.privacy-guard-rules");
    const words = document.querySelector("script.privacy-guard-known");
    if (!data) return null;
    try {
      guard = new Guard(JSON.parse(data.textContent));
      known = words ? JSON.parse(words.textContent) : [];
    } catch (e) { guard = null; }  // an old browser (no look-behind): the server still checks
    return guard;
  }

  function warning(form, findings) {
    // The same box as the server's (templates/modules/blocks/_privacy_warning.html), from its texts.
    const template = form.querySelector("template.privacy-warning-template");
    if (!template) return null;
    const box = template.content.firstElementChild.cloneNode(true);
    const list = box.querySelector("ul");
    const labels = guard.rules.labels;
    findings.forEach((f) => {
      const item = document.createElement("li");
      const quoted = document.createElement("q");
      quoted.textContent = f.text;
      item.append(quoted, " \u2013 " + (labels[f.kind] || f.kind));
      list.appendChild(item);
    });
    return box;
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const submitter = event.submitter;
    if (!form.classList || !form.classList.contains("reflection-form")) return;
    if (!submitter || submitter.name !== "action" || submitter.value !== "submit") return;
    const textarea = form.querySelector("textarea[name=text]");
    if (!textarea || !loadGuard()) return;
    let findings;
    try { findings = guard.summary(guard.find(textarea.value, null, known)); } catch (e) { return; }
    const old = form.querySelector(".privacy-warning");
    if (!findings.length) return;
    const box = warning(form, findings);
    if (!box) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (old) old.remove();
    const actions = form.querySelector(".form-actions");
    form.insertBefore(box, actions);
    box.focus();
  }, true);
})(typeof window !== "undefined" ? window : globalThis);
