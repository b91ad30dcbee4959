(function () {
  "use strict";
  // Errors on this page are shown on it (and tests read them).
  var errors = document.getElementById("page-errors");
  window.addEventListener("error", function (e) {
    errors.hidden = false;
    errors.textContent += (e.message || "error") + "\n";
  });
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  var shown = document.getElementById("shown");
  // Filters live in the URL's fragment (#severity=high&stage=sast), so a
  // filtered view can be linked to.
  function fromHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    selects.forEach(function (s) {
      var v = params.get(s.dataset.filter);
      var known = Array.prototype.some.call(s.options, function (o) { return o.value === v; });
      s.value = v !== null && known ? v : "";
    });
  }
  function apply() {
    var want = {};
    selects.forEach(function (s) { if (s.value) { want[s.dataset.filter] = s.value; } });
    var n = 0;
    rows.forEach(function (r) {
      var ok = Object.keys(want).every(function (k) { return r.dataset[k] === want[k]; });
      r.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = String(n);
    return want;
  }
  function toHash(want) {
    var params = new URLSearchParams();
    Object.keys(want).forEach(function (k) { params.set(k, want[k]); });
    var h = params.toString();
    try {
      history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
    } catch (e) {
      // Some browsers refuse replaceState on file: URLs; the filter still applies.
    }
  }
  selects.forEach(function (s) { s.addEventListener("change", function () { toHash(apply()); }); });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
  document.body.setAttribute("data-ready", "1");
})();
