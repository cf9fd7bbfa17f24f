// Keeps the console's queue current and its 5-minute countdowns ticking; without JavaScript the page refreshes.
(function () {
  var box = document.getElementById("queue");
  function tick() {
    box.querySelectorAll("[data-remaining]").forEach(function (el) {
      var left = parseInt(el.dataset.remaining, 10) - 1;
      el.dataset.remaining = left;
      // once over: seconds for the first minute, then whole minutes ("lewat 12 mnt"), as the server writes it
      if (left >= 0) el.textContent = (box.dataset.secondsLeft || "{s} dtk").replace("{s}", left);
      else if (left > -60) el.textContent = (box.dataset.secondsOver || "lewat {s} dtk").replace("{s}", -left);
      else el.textContent = (box.dataset.minutesOver || "lewat {m} mnt").replace("{m}", Math.floor(-left / 60));
      el.className = "sla " + (left <= 0 ? "breach" : left <= 60 ? "warning" : "ok");
    });
  }
  function refresh() {
    fetch(box.dataset.src, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {})
      .then(function () { setTimeout(refresh, 3000); });
  }
  setInterval(tick, 1000);
  setTimeout(refresh, 3000);
})();
