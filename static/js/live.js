/* Live refresh: adaptive polling for elements marked data-live-poll, done without eval (strict CSP).
 *
 * Each poller is an htmx element with hx-trigger="live:poll". This file decides when to fire it:
 *  - fast (data-live-fast, 1500 ms) while its scope (data-live-scope) holds something active
 *    ([data-active]: a NEW/RUNNING/WAITING row, or a count of such sessions above zero),
 *    slow (data-live-slow, 10 s) when everything there is final;
 *  - never while the tab is hidden, and at once when it becomes visible again;
 *  - one request at a time per poller; on errors it backs off (doubling, up to 60 s);
 *  - an HTTP 286 answer stops that poller for good (the session it watches is final).
 * Out-of-band rows carry data-rev: a re-sent row with the same revision is not swapped again, and a
 * changed one flashes (class is-flash, removed when its animation ends). Rows that newly match a filtered
 * table land in its hidden inbox and are moved into place.
 */
(function () {
  "use strict";

  var FAST = 1500, SLOW = 10000, MAX_BACKOFF = 60000, STUCK = 30000, TICK = 250;
  var state = new WeakMap();

  function info(el) {
    var s = state.get(el);
    if (!s) {
      s = { last: Date.now(), busy: false, since: 0, errors: 0, stopped: false };
      state.set(el, s);
    }
    return s;
  }

  function active(el) {
    var scope = el.getAttribute("data-live-scope");
    var root = scope ? document.querySelector(scope) : document;
    return !!(root && root.querySelector("[data-active]"));
  }

  function interval(el, s) {
    var fast = parseInt(el.getAttribute("data-live-fast"), 10) || FAST;
    var slow = parseInt(el.getAttribute("data-live-slow"), 10) || SLOW;
    var base = active(el) ? fast : slow;
    return s.errors ? Math.min(MAX_BACKOFF, base * Math.pow(2, s.errors)) : base;
  }

  function fire(el, s) {
    s.busy = true;
    s.since = Date.now();
    htmx.trigger(el, "live:poll");
  }

  function tick() {
    if (document.visibilityState !== "visible" || !window.htmx) return;
    var now = Date.now();
    document.querySelectorAll("[data-live-poll]").forEach(function (el) {
      var s = info(el);
      if (s.stopped) return;
      if (s.busy && now - s.since < STUCK) return;
      if (now - s.last >= interval(el, s)) fire(el, s);
    });
  }

  document.addEventListener("visibilitychange", function () {
    document.documentElement.classList.toggle("is-paused", document.visibilityState !== "visible");
    if (document.visibilityState !== "visible") return;
    // Back on the tab: catch up at once instead of waiting for the next interval.
    document.querySelectorAll("[data-live-poll]").forEach(function (el) { info(el).last = 0; });
    tick();
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    var el = e.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-live-poll")) return;
    var s = info(el);
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    s.busy = false;
    s.last = Date.now();
    if (status === 286) { s.stopped = true; return; }
    s.errors = (status >= 200 && status < 300) ? 0 : s.errors + 1;
  });

  // A re-sent row that has not changed is left alone; a changed one flashes.
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var d = e.detail, incoming = d.fragment && d.fragment.firstElementChild, target = d.target;
    if (!incoming || !target || !target.hasAttribute("data-rev")) return;
    if (incoming.getAttribute("data-rev") === target.getAttribute("data-rev")) d.shouldSwap = false;
  });

  // Rows that newly match a table's filters arrive in its hidden inbox (<tbody data-inbox="#rows">):
  // move each into the table at its place in the order (data-order, newest first).
  function placeArrivals() {
    document.querySelectorAll("tbody[data-inbox]").forEach(function (inbox) {
      var tbody = document.querySelector(inbox.getAttribute("data-inbox"));
      if (!tbody) return;
      while (inbox.firstElementChild) {
        var row = inbox.firstElementChild, order = parseInt(row.getAttribute("data-order"), 10) || 0;
        var rows = tbody.querySelectorAll("tr[data-order]"), before = null;
        for (var i = 0; i < rows.length; i++) {
          if ((parseInt(rows[i].getAttribute("data-order"), 10) || 0) < order) { before = rows[i]; break; }
        }
        tbody.insertBefore(row, before);
      }
    });
  }
  document.addEventListener("htmx:afterSettle", placeArrivals);
  document.addEventListener("htmx:afterRequest", placeArrivals);

  // A swapped region keeps the disclosures (<details id=…>) the reader had opened.
  var openIds = null;
  document.addEventListener("htmx:beforeSwap", function () {
    openIds = Array.prototype.map.call(document.querySelectorAll("details[open][id]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSwap", function () {
    (openIds || []).forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
    openIds = null;
  });

  document.addEventListener("animationend", function (e) {
    var row = e.target && e.target.closest ? e.target.closest(".is-flash") : null;
    if (row) row.classList.remove("is-flash");
  });

  // Relative times ("3 min ago") stay true while the page is open.
  function ago(date) {
    var s = (Date.now() - date.getTime()) / 1000;
    if (s < 45) return "just now";
    if (s < 3600) return Math.max(1, Math.round(s / 60)) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    if (s < 86400 * 30) return Math.round(s / 86400) + " d ago";
    return null;
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      var text = ago(d);
      if (text && t.textContent !== text) t.textContent = text;
      if (!t.hasAttribute("data-local")) {
        t.setAttribute("data-local", "");
        t.title = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) + " (" + t.title + ")";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    refreshTimes();
    setInterval(tick, TICK);
    setInterval(function () { if (document.visibilityState === "visible") refreshTimes(); }, 20000);
  });
  document.addEventListener("htmx:load", function (e) { refreshTimes(e.detail.elt); });
})();
