// The desk's queue refreshes itself when the event log moves, unless someone is
// in the middle of typing or selecting (a reload would lose that).
(function () {
  "use strict";
  var live = document.getElementById("desk-live");
  if (!live || !("EventSource" in window)) return;
  var pending = false;
  function busy() {
    var active = document.activeElement;
    return (active && /INPUT|SELECT|TEXTAREA/.test(active.tagName)) ||
      document.querySelector("input[type=checkbox]:checked");
  }
  function refresh() {
    if (busy()) { pending = true; return; }
    window.location.reload();
  }
  var source = new EventSource(live.dataset.events);
  source.onmessage = refresh;
  ["incident.opened", "incident.report_added", "incident.claim", "incident.confirm",
   "incident.false_alarm", "incident.end", "incident.expire", "incident.merge"].forEach(function (type) {
    source.addEventListener(type, refresh);
  });
  document.addEventListener("focusout", function () { if (pending) setTimeout(refresh, 500); });
})();
