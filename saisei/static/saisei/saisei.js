// Saisei's page behaviour, served as a static file so the Content-Security-Policy can forbid
// inline script. Each behaviour is switched on by a data attribute in the templates.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Main navigation on one row: entries that do not fit move, last first, into the "More"
  // menu at the row's end; on a wider window they move back. Without script the row wraps.
  function fitNav() {
    var list = document.querySelector(".mainnav ul.navlist");
    if (!list) return;
    var more = list.querySelector("li.navmore");
    var moreList = more.querySelector("ul");
    while (moreList.firstElementChild) list.insertBefore(moreList.firstElementChild, more);
    more.hidden = true;
    var nav = list.parentElement;
    var items = function () { return list.querySelectorAll(":scope > li:not(.navmore)"); };
    if (list.scrollWidth <= nav.clientWidth) return;
    more.hidden = false;
    while (list.scrollWidth > nav.clientWidth && items().length > 1) {
      var all = items();
      moreList.insertBefore(all[all.length - 1], moreList.firstElementChild);
    }
    var current = moreList.querySelector("a[aria-current]");
    more.querySelector("summary").classList.toggle("current", !!current);
  }
  document.addEventListener("DOMContentLoaded", fitNav);
  window.addEventListener("resize", fitNav);
  // Close an open header menu when clicking elsewhere.
  document.addEventListener("click", function (ev) {
    document.querySelectorAll(".topbar details[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.open = false;
    });
  });

  // <select data-autosubmit>: choosing a value submits its form (language menus, filters).
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });

  // <button data-print>: print the page.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (el) { ev.preventDefault(); window.print(); }
  });

  // Barcode scanners type the code and press Enter: move to the next empty scan field, and
  // submit only when every scan field holds a value.
  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (ev.key !== "Enter" || !el.matches || !el.matches("input[data-scan]") || !el.form) return;
    var scans = Array.prototype.slice.call(el.form.querySelectorAll("input[data-scan]"));
    var next = scans.find(function (s) { return !s.value.trim(); });
    if (next) { ev.preventDefault(); next.focus(); }
  });
})();
