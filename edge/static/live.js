// Keeps a staff page's live list current without reloading the page (a reload would wipe what staff are typing):
// every few seconds it fetches the list alone (data-live-src) and swaps it in, but a row (data-live-key) where
// someone has the focus or has typed something stays as it is. Without JavaScript the page has a "Muat ulang" link.
(function () {
  function typedIn(row) {
    if (row.contains(document.activeElement)) return true;
    return Array.prototype.some.call(row.querySelectorAll("input, textarea"), function (field) {
      return field.type !== "hidden" && field.value !== field.defaultValue;
    });
  }

  function twinOf(fresh, row) {
    var key = row.getAttribute("data-live-key");
    return Array.prototype.find.call(fresh.querySelectorAll("[data-live-key]"), function (el) {
      return el.getAttribute("data-live-key") === key;
    });
  }

  function swap(box, html) {
    var fresh = document.createElement("div");
    fresh.innerHTML = html;
    var kept = Array.prototype.filter.call(box.querySelectorAll("[data-live-key]"), typedIn);
    var pairs = kept.map(function (row) { return [row, twinOf(fresh, row)]; });
    // the row being typed in is gone from the fresh list (someone else moved it): wait for the next round
    if (pairs.some(function (pair) { return !pair[1]; })) return;
    var focused = document.activeElement;
    var caret = focused && "selectionStart" in focused ? [focused.selectionStart, focused.selectionEnd] : null;
    pairs.forEach(function (pair) { pair[1].replaceWith(pair[0]); });
    box.replaceChildren.apply(box, Array.prototype.slice.call(fresh.childNodes));
    if (focused && box.contains(focused) && document.activeElement !== focused) {
      focused.focus();
      if (caret) { try { focused.setSelectionRange(caret[0], caret[1]); } catch (e) { /* a button has no caret */ } }
    }
  }

  document.querySelectorAll("[data-live-src]").forEach(function (box) {
    var every = (parseInt(box.getAttribute("data-live-every"), 10) || 10) * 1000;
    function refresh() {
      fetch(box.getAttribute("data-live-src"), { cache: "no-store", credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) swap(box, html); })
        .catch(function () {})
        .then(function () { setTimeout(refresh, every); });
    }
    setTimeout(refresh, every);
  });
})();
