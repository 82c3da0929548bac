// Small page behaviours; every page works without them.
(function () {
  "use strict";
  // Filters start folded on a phone (they would fill the screen) and open on a wide screen.
  if (window.matchMedia("(min-width: 800px)").matches) {
    document.querySelectorAll("details.filter-box").forEach(function (box) { box.open = true; });
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // A step that tells people and cannot be undone from here asks first (the CSP allows no inline script).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
