// ALTCHA proof-of-work, solved with WebCrypto's SHA-256. Loaded only when the
// server has asked for it (a 429 with a challenge): find the number n, at most
// maxnumber, for which SHA-256(salt + n) is the challenge; the server signed the
// challenge, so it can check the answer without keeping anything. The report
// page uses it, and the saved-report sender in the page and the service worker.
(function (scope) {
  "use strict";
  var BATCH = 1000;  // digests in flight at once: WebCrypto is asynchronous per call
  var encoder = new TextEncoder();

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += (bytes[i] + 256).toString(16).slice(1);
    return text;
  }

  // Resolves with the solution as the server takes it: base64 JSON, sent in
  // the X-Altcha header (API) or the altcha field (form).
  function solve(challenge) {
    var target = String(challenge.challenge);
    var first = parseInt(target.slice(0, 2), 16);
    var max = Number(challenge.maxnumber) || 1e6;
    var subtle = scope.crypto.subtle;
    function from(start) {
      if (start > max) return Promise.reject(new Error("no solution"));
      var batch = [];
      for (var n = start; n <= max && n < start + BATCH; n++) {
        batch.push(subtle.digest("SHA-256", encoder.encode(challenge.salt + n)));
      }
      return Promise.all(batch).then(function (hashes) {
        for (var i = 0; i < hashes.length; i++) {
          if (new Uint8Array(hashes[i])[0] === first && hex(hashes[i]) === target) return start + i;
        }
        return from(start + BATCH);
      });
    }
    return from(0).then(function (number) {
      return btoa(JSON.stringify({
        algorithm: challenge.algorithm,
        challenge: target,
        number: number,
        salt: challenge.salt,
        signature: challenge.signature
      }));
    });
  }

  scope.raidwatchPow = { solve: solve };
  if (typeof document === "undefined") return;

  // --- the report page, sent back with a challenge ------------------------------
  var say = document.currentScript.dataset;
  var form = document.getElementById("report-form");
  var status = document.getElementById("report-status");
  if (!form || !form.dataset.altcha || !scope.crypto || !scope.crypto.subtle || !scope.Promise) return;
  status.textContent = say.solving;
  status.hidden = false;
  solve(JSON.parse(form.dataset.altcha)).then(function (solution) {
    form.elements.altcha.value = solution;
    // The question is for people without JavaScript; the solution stands in for it.
    var question = document.getElementById("gate-question");
    if (question) question.hidden = true;
    status.textContent = form.dataset.auto ? say.solved : say.ready;
    if (!form.dataset.auto) return;
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }, function () {
    status.hidden = true;  // the question is still there to answer
  });
})(self);
