// The desk says when something changed and offers a reload, rather than
// reloading itself: a page that reloads on its own would keep the session
// alive forever and defeat the 30-minute idle sign-out.
(function () {
  "use strict";
  var live = document.getElementById("desk-live");
  if (!live || !("EventSource" in window)) return;
  var notice = document.createElement("p");
  notice.className = "notice";
  notice.setAttribute("role", "status");
  notice.hidden = true;
  var link = document.createElement("a");
  link.href = window.location.pathname;
  link.textContent = live.dataset.changed;
  notice.appendChild(link);
  live.after(notice);
  var source = new EventSource(live.dataset.events);
  function changed() { notice.hidden = false; }
  source.onmessage = changed;
  ["incident.opened", "incident.report_added", "incident.claim", "incident.confirm",
   "incident.false_alarm", "incident.end", "incident.expire", "incident.merge"].forEach(function (type) {
    source.addEventListener(type, changed);
  });
})();
