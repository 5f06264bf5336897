// Saisei's page behaviour, served as a static file so the Content-Security-Policy can forbid
// inline script. Each behaviour is switched on by a data attribute in the templates.
(function () {
  "use strict";

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
