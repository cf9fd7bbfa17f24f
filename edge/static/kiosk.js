// Keeps the kiosk's waiting count and printer notice current, so a number issued by the physical button while
// the printer is down is shown on screen, with its guestbook QR. Without JavaScript the page refreshes itself instead.
(function () {
  function render(queue) {
    document.querySelector("#waiting strong").textContent = queue.waiting.length;
    var unprinted = queue.waiting.filter(function (t) { return t.printed === "pending"; });
    var fault = document.getElementById("printer-fault");
    var bad = queue.printer !== "ok" && queue.printer !== "absent";
    fault.hidden = !bad;
    // the newest unprinted number's guestbook QR is drawn by the appliance: a new one means a fresh page
    var shown = document.getElementById("newest-unprinted");
    var newest = unprinted.length ? unprinted[unprinted.length - 1].id : null;
    if (bad && newest && (!shown || shown.dataset.ticket !== newest)) {
      window.location.reload();
      return;
    }
    var list = document.getElementById("unprinted");
    list.textContent = "";
    unprinted.forEach(function (t) {
      var chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = t.number;
      list.appendChild(chip);
    });
  }
  function poll() {
    fetch("/api/queue", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (q) { if (q) render(q); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
