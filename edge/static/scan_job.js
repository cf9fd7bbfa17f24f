// The scan job page while pages come in: the count follows the job (data-job, every data-every seconds) without a
// reload, and the page is loaded again once the job has ended, to show its download code. Without JavaScript the
// page's <noscript> refresh does the same.
(function () {
  var box = document.querySelector("[data-job]");
  if (!box) return;
  var every = (parseInt(box.getAttribute("data-every"), 10) || 2) * 1000;
  var count = box.querySelector(".pages");
  function poll() {
    fetch(box.getAttribute("data-job"), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (job && job.status !== "scanning") { window.location.reload(); return; }
        if (job && count) count.textContent = job.pages;
        setTimeout(poll, every);
      })
      .catch(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
