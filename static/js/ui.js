/* Small page behaviours, no eval and no inline handlers (strict CSP):
 *  - copy buttons: <button data-copy="#id"> copies that element's text;
 *  - diagram steps: clicking a step (an SVG link to ?step=…) swaps the diagram panel in place
 *    instead of reloading the page (the link still works without JavaScript);
 *  - session compare: at most two rows ticked, and the Compare button only enabled with two.
 */
(function () {
  "use strict";

  document.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (!btn) return;
    var source = document.querySelector(btn.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      var label = btn.querySelector(".copy-label");
      if (!label) return;
      var text = label.textContent;
      label.textContent = "Copied";
      btn.classList.add("is-done");
      setTimeout(function () { label.textContent = text; btn.classList.remove("is-done"); }, 1400);
    });
  });

  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("svg a.node-link[href]") : null;
    if (!link || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0 || !window.htmx) return;
    var panel = link.closest("[data-step-target]");
    if (!panel) return;
    e.preventDefault();
    var url = link.getAttribute("href");
    htmx.ajax("GET", url, { target: panel.getAttribute("data-step-target"), swap: "outerHTML" }).then(function () {
      history.replaceState(history.state, "", url);
      var detail = document.getElementById("step-detail");
      if (detail) detail.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
  });

  function syncCompare(form) {
    var boxes = form.querySelectorAll("input[name=s]");
    var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; });
    boxes.forEach(function (b) { b.disabled = !b.checked && ticked.length >= 2; });
    var button = form.querySelector("[data-compare-button]");
    if (button) button.disabled = ticked.length !== 2;
  }
  document.addEventListener("change", function (e) {
    var form = e.target.closest ? e.target.closest("form[data-compare]") : null;
    if (form) syncCompare(form);
  });
  document.addEventListener("htmx:load", function (e) {
    var root = e.detail.elt;
    (root.matches && root.matches("form[data-compare]") ? [root] : root.querySelectorAll("form[data-compare]"))
      .forEach(syncCompare);
  });
})();
