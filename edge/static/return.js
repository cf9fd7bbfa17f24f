// A kiosk page that goes back to the start by itself, so the next visitor does not find this one's number or code:
// after data-return-after seconds with no touch, key or scroll. Each of these starts the wait again, so a visitor
// still reading is never cut off. Without JavaScript the page's <noscript> refresh returns after the same time.
(function () {
  var page = document.querySelector("[data-return-to]");
  if (!page) return;
  var wait = parseInt(page.getAttribute("data-return-after"), 10) * 1000, timer = null;
  function restart() {
    clearTimeout(timer);
    timer = setTimeout(function () { window.location.assign(page.getAttribute("data-return-to")); }, wait);
  }
  ["pointerdown", "keydown", "scroll", "wheel"].forEach(function (name) {
    window.addEventListener(name, restart, { passive: true });
  });
  restart();
})();
