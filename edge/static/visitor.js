// The visitor's own ticket page: follows her ticket over server-sent events and puts the appliance's fresh view of
// it in place; a call to a counter vibrates the phone and plays the board's chime where the browser allows.
(function () {
  var box = document.getElementById("visitor-status");
  var shown = box.querySelector(".visitor-state");
  var last = { status: shown.dataset.status, calls: parseInt(shown.dataset.calls, 10) };

  function tick() {
    box.querySelectorAll("[data-remaining]").forEach(function (el) {
      var left = parseInt(el.dataset.remaining, 10) - 1, s = Math.abs(left);
      el.dataset.remaining = left;
      var clock = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      el.textContent = (left >= 0 ? el.dataset.left : el.dataset.over).replace("{t}", clock);
    });
  }

  function redraw() {
    fetch(box.dataset.src, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {});
  }

  function announce() {
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    var chime = new Audio("/api/voice/chime");
    chime.play().catch(function () {});  // a browser may refuse sound before the first tap: the text still shows
  }

  var source = new EventSource(box.dataset.events);
  source.addEventListener("state", function (e) {
    var state = JSON.parse(e.data);
    if (state.status === "called" && (last.status !== "called" || state.call_count > last.calls)) announce();
    last = { status: state.status, calls: state.call_count };
    document.body.dataset.ticketStatus = state.status;
    redraw();  // after service too: a scan finished later still brings its download
  });
  setInterval(tick, 1000);
})();
