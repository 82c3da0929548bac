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
})();
