// The display board: live calls over SSE, each announced with the chime and the spoken call made on the appliance.
(function () {
  var number = document.getElementById("now-number");
  var counter = document.getElementById("now-counter");
  var recent = document.getElementById("recent");
  var waiting = document.getElementById("waiting");
  var soundButton = document.getElementById("sound");
  var queue = [], playing = false;

  function counterText(element, n) {  // the page's own words, e.g. "Silakan ke loket {counter}"
    return (element.dataset.text || "{counter}").replace("{counter}", n);
  }

  function show(board) {
    if (board.current) {
      number.textContent = board.current.number;
      counter.textContent = counterText(counter, board.current.counter);
    }
    recent.textContent = "";
    board.recent.forEach(function (call) {
      var li = document.createElement("li");
      li.innerHTML = '<span class="num"></span><span></span>';
      li.children[0].textContent = call.number;
      li.children[1].textContent = counterText(recent, call.counter);
      recent.appendChild(li);
    });
    waiting.textContent = board.waiting;
  }

  function playNext() {
    if (playing || !queue.length) return;
    playing = true;
    var call = queue.shift();
    var audio = new Audio("/api/voice?number=" + encodeURIComponent(call.number) + "&counter=" + call.counter);
    audio.onended = audio.onerror = function () { playing = false; playNext(); };
    audio.play().catch(function () {
      playing = false;
      soundButton.hidden = false;  // the browser wants a first tap before it plays sound
    });
  }

  soundButton.addEventListener("click", function () { soundButton.hidden = true; playNext(); });

  function flash() {
    number.classList.remove("flash");
    void number.offsetWidth;
    number.classList.add("flash");
  }

  var source = new EventSource("/api/display/events");
  source.addEventListener("board", function (e) { show(JSON.parse(e.data)); });
  source.addEventListener("call", function (e) {
    var call = JSON.parse(e.data);
    document.body.dataset.lastCall = call.number + "@" + call.counter;
    fetch("/api/display", { cache: "no-store" }).then(function (r) { return r.json(); }).then(show);
    number.textContent = call.number;
    counter.textContent = counterText(counter, call.counter);
    flash();
    queue.push(call);
    playNext();
  });

  function tick() {
    document.getElementById("clock").textContent = new Date().toLocaleTimeString("id-ID", { timeZone: "Asia/Makassar", hour: "2-digit", minute: "2-digit" }) + " WITA";
  }
  tick();
  setInterval(tick, 10000);
})();
