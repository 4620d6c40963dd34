// Reports made without a connection: kept on this device (IndexedDB) with their
// client_id and the time they were made, and sent to POST /api/v1/reports when
// the connection returns. The same client_id makes a resend the first report,
// never a second one. The report page loads this file; the service worker
// imports it and sends through Background Sync, even with no page open.
// Without JavaScript the form posts as usual.
(function (scope) {
  "use strict";
  var SYNC_TAG = "raidwatch-reports";
  // Over the allowance the server asks for proof-of-work (429 with a challenge).
  // The worker can import scripts only now, while it starts; the page loads
  // the solver only when asked (loadPow below).
  if (typeof document === "undefined" && scope.importScripts) {
    try { scope.importScripts("/static/js/pow.js"); } catch (e) { /* kept for the page to send */ }
  }
  var loadPow = function () { return Promise.resolve(scope.raidwatchPow); };
  var MAX_SOLVES = 3;
  // The report itself is wrong: sending it again cannot help.
  var INVALID = [400, 413, 422];

  // One short transaction; resolves with the request's result once it is stored.
  function store(mode, work) {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open("raidwatch", 1);
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore("reports", { keyPath: "client_id" });
      };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var db = opening.result;
        var tx = db.transaction("reports", mode);
        var asked = work(tx.objectStore("reports"));
        tx.oncomplete = function () { db.close(); resolve(asked && asked.result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function all() { return store("readonly", function (s) { return s.getAll(); }); }
  function save(report) { return store("readwrite", function (s) { return s.put(report); }); }
  function forget(id) { return store("readwrite", function (s) { return s.delete(id); }); }

  // The report's content goes; only what the reporter must be told stays, and
  // only if no other sender (the page or the worker) settled it first.
  function settle(id, outcome) {
    outcome.client_id = id;
    return store("readwrite", function (s) {
      var held = s.get(id);
      held.onsuccess = function () {
        if (held.result && held.result.state === "queued") s.put(outcome);
      };
    });
  }

  function send(report, solved) {
    var id = report.client_id;
    var headers = { "Content-Type": "application/json" };
    if (report.proof) headers["X-Altcha"] = report.proof;
    return fetch("/api/v1/reports", {
      method: "POST",
      credentials: "omit",
      headers: headers,
      body: JSON.stringify(report.body)
    }).then(function (response) {
      if (response.ok) return settle(id, { state: "sent" });
      var gated = response.status === 429 || response.status === 400;
      if (!gated && INVALID.indexOf(response.status) < 0) return null;  // 5xx: kept for the next try
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (answer.challenge) {
          // Prove the work and send the same report, same client_id, again;
          // if that cannot be done now, it stays queued for the next try.
          solved = solved || 0;
          if (solved >= MAX_SOLVES) return null;
          return loadPow().then(function (pow) { return pow.solve(answer.challenge); }).then(function (proof) {
            return send({ client_id: id, body: report.body, proof: proof }, solved + 1);
          }, function () { return null; });
        }
        if (response.status === 429) return null;
        return settle(id, { state: "refused", reason: (answer.error && answer.error.message) || "" });
      });
    });
  }

  var flushing = null;
  // Sends every waiting report in turn; rejects (keeping the rest) when the network fails.
  function flush() {
    if (!flushing) {
      flushing = all().then(function (reports) {
        return reports.reduce(function (done, report) {
          return report.state === "queued" ? done.then(function () { return send(report); }) : done;
        }, Promise.resolve());
      });
      flushing.then(function () { flushing = null; }, function () { flushing = null; });
    }
    return flushing;
  }

  scope.raidwatchReports = { SYNC_TAG: SYNC_TAG, flush: flush };
  if (typeof document === "undefined") return;  // in the service worker: nothing more

  // --- the report page ----------------------------------------------------------
  var script = document.currentScript;
  var say = script.dataset;
  var form = document.getElementById("report-form");
  var status = document.getElementById("report-status");
  if (!form || !status || !scope.indexedDB || !scope.fetch || !scope.Promise || !scope.crypto) return;
  var el = form.elements;
  var pow = null;
  loadPow = function () {
    if (scope.raidwatchPow) return Promise.resolve(scope.raidwatchPow);
    if (!pow) {
      pow = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = say.pow;
        tag.nonce = script.nonce;
        tag.onload = function () { resolve(scope.raidwatchPow); };
        tag.onerror = function () { pow = null; reject(); };
        document.head.appendChild(tag);
      });
    }
    return pow;
  };
  var button = form.querySelector("button[type=submit]");

  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }
  // A copy of this page kept for offline use carries the id it was first served
  // with; every report made from it needs its own.
  el.client_id.value = newId();

  function show(lines) {
    if (!lines.length) return;
    status.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;  // text, never markup: a reason comes from the server
      status.appendChild(p);
    });
    status.hidden = false;
  }

  // Says what became of the saved reports, then forgets the ones that are done.
  function showOutcomes() {
    return all().then(function (reports) {
      var lines = [];
      var waiting = false;
      reports.forEach(function (report) {
        if (report.state === "queued") {
          waiting = true;
          return;
        }
        if (report.state === "sent") lines.push(say.sent);
        else lines.push(say.refused, report.reason);
        forget(report.client_id);
      });
      if (waiting) lines.push(say.saved);
      show(lines.filter(Boolean));
    });
  }

  function sendSaved() {
    if (navigator.onLine === false) return showOutcomes();
    return flush().catch(function () {}).then(showOutcomes);
  }

  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) return registration.sync.register(SYNC_TAG);
    }).catch(function () {});
  }

  function keepOnDevice(report) {
    return save(report).then(function () {
      form.reset();
      el.client_id.value = newId();
      el.lat.value = el.lon.value = "";
      askForSync();
      return showOutcomes();
    }, function () {
      form.submit();  // nowhere to keep it: let the browser try the plain form
    });
  }

  function chosen(name) {
    var value = el[name] && el[name].value;
    return value ? String(value).trim() : "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button.disabled) return;  // a double tap
    var pressed = Date.now();
    var body = {
      kind: chosen("kind"),
      observed_at: new Date(pressed - (Number(chosen("when")) || 0) * 60000).toISOString().replace("Z", "+00:00"),
      language: document.documentElement.lang,
      client_id: chosen("client_id") || newId()
    };
    if (chosen("lat") && chosen("lon")) {
      body.lat = Number(chosen("lat"));
      body.lon = Number(chosen("lon"));
    } else if (chosen("place")) {
      body.place = chosen("place");
    }
    if (chosen("description")) body.description = chosen("description");
    var report = { client_id: body.client_id, state: "queued", body: body };
    var complete = body.kind && (body.place || body.lat !== undefined);
    if (navigator.onLine === false) {
      if (complete) keepOnDevice(report);
      else show([say.incomplete]);
      return;
    }
    if (!complete) {
      form.submit();  // the server explains every missing piece beside its field
      return;
    }
    button.disabled = true;
    var controller = scope.AbortController ? new AbortController() : null;
    // On a connection that hangs, keep the report rather than wait for ever; if
    // it did arrive, the resend with the same client_id is the same report.
    var timer = controller && setTimeout(function () { controller.abort(); }, 20000);
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.ok && response.redirected) {
        location.assign(response.url);
        return null;
      }
      if (response.status >= 500) return keepOnDevice(report);
      form.submit();  // the form with the server's words beside each field, or its check (429)
      return null;
    }, function () {
      return keepOnDevice(report);
    }).then(function () {
      clearTimeout(timer);
      button.disabled = false;
    });
  });

  scope.addEventListener("online", sendSaved);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.raidwatch === "reports") showOutcomes();
    });
  }
  // A connection that stays up but drops requests never fires "online".
  setInterval(sendSaved, 60000);
  sendSaved();
})(self);
