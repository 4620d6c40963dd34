// The subscribe page's extras. Without this script the form still works for
// every channel but push, which needs the browser's own push subscription:
// - "This browser (push notifications)" is offered where the browser can do it;
//   choosing it sends the push subscription to /api/v1/subscriptions.
// - "Use my location" fills the hidden lat/lon; the server turns the point into
//   area cells and keeps only those.
(function () {
  "use strict";
  var script = document.currentScript;
  var say = script.dataset;
  var form = document.getElementById("subscribe-form");
  if (!form) return;
  var el = form.elements;
  var pushChoice = document.getElementById("channel-webpush-choice");
  var addressField = document.getElementById("address-field");
  var radiusRow = document.getElementById("radius-row");
  var locationButton = document.getElementById("use-location");
  var locationStatus = document.getElementById("location-status");
  var submitButton = document.getElementById("subscribe-button");
  var submitStatus = document.getElementById("subscribe-status");
  var formErrors = document.getElementById("form-errors");

  function show(node, text) { node.textContent = text; node.hidden = false; }
  function channel() { return el.channel.value; }
  function syncChannel() { addressField.hidden = channel() === "webpush"; }

  // --- errors beside the field they belong to ----------------------------------
  function fieldFor(apiField) {
    if (!apiField) return null;
    if (apiField === "area" || apiField.indexOf("area.") === 0) return "place";
    if (apiField === "endpoint" || apiField.indexOf("keys") === 0) return "channel";
    return apiField;
  }
  function clearErrors() {
    var shown = form.querySelectorAll(".error");
    for (var i = 0; i < shown.length; i++) shown[i].remove();
    var marked = form.querySelectorAll(".has-error");
    for (var j = 0; j < marked.length; j++) marked[j].classList.remove("has-error");
    var invalid = form.querySelectorAll("[aria-invalid]");
    for (var k = 0; k < invalid.length; k++) invalid[k].removeAttribute("aria-invalid");
    formErrors.hidden = true;
    formErrors.textContent = "";
  }
  function showError(apiField, message) {
    var name = fieldFor(apiField);
    var field = name && form.querySelector('[data-field="' + name + '"]');
    var box = document.createElement("div");
    var line = document.createElement("p");
    line.textContent = message;  // text, never markup
    box.appendChild(line);
    if (!field) {
      formErrors.appendChild(box);
      formErrors.hidden = false;
      formErrors.scrollIntoView();
      return;
    }
    box.className = "error";
    box.id = name + "-error";
    box.setAttribute("role", "alert");
    field.classList.add("has-error");
    field.appendChild(box);
    var input = field.querySelector("input[type=text], select");
    if (input) input.setAttribute("aria-invalid", "true");
    field.scrollIntoView();
  }

  // --- use my location ------------------------------------------------------------
  function forgetPoint() {
    el.lat.value = "";
    el.lon.value = "";
    radiusRow.hidden = true;
    locationStatus.hidden = true;
  }
  if ("geolocation" in navigator) {
    locationButton.hidden = false;
    locationButton.addEventListener("click", function () {
      show(locationStatus, say.locating);
      navigator.geolocation.getCurrentPosition(function (position) {
        // Three decimals (about 100 m) is plenty for an area of 1 km or more.
        el.lat.value = position.coords.latitude.toFixed(3);
        el.lon.value = position.coords.longitude.toFixed(3);
        el.place.value = "";
        radiusRow.hidden = false;
        show(locationStatus, say.located);
      }, function () {
        forgetPoint();
        show(locationStatus, say.locationFailed);
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
    });
    // Typing a place replaces the point: one area, never both.
    el.place.addEventListener("input", function () { if (el.lat.value) forgetPoint(); });
  }

  // --- push --------------------------------------------------------------------------
  var canPush = window.isSecureContext && "serviceWorker" in navigator &&
    "PushManager" in window && "Notification" in window;
  if (!canPush) return;
  pushChoice.hidden = false;
  form.addEventListener("change", function (event) {
    if (event.target.name === "channel") syncChannel();
  });
  syncChannel();

  function area() {
    if (el.lat.value && el.lon.value) {
      return { lat: Number(el.lat.value), lon: Number(el.lon.value), radius_km: Number(el.radius_km.value) };
    }
    var place = el.place.value.trim();
    if (!place) return null;
    return /^[0-9]{5}(-[0-9]{4})?$/.test(place) ? { zip: place } : { postcode: place };
  }

  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(buffer, bytes) {
    if (!buffer) return false;
    var held = new Uint8Array(buffer);
    if (held.length !== bytes.length) return false;
    for (var i = 0; i < held.length; i++) if (held[i] !== bytes[i]) return false;
    return true;
  }

  function Failure(field, message) { this.field = field; this.message = message; }

  function pushSubscription(registration, serverKey) {
    var manager = registration.pushManager;
    return manager.getSubscription().then(function (existing) {
      // A subscription made for another server key cannot carry our messages.
      if (existing && sameKey(existing.options && existing.options.applicationServerKey, serverKey)) {
        return existing;
      }
      var dropped = existing ? existing.unsubscribe() : Promise.resolve();
      return dropped.then(function () {
        return manager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey });
      });
    });
  }

  function subscribePush(chosenArea) {
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Failure("channel", say.blocked);
      return navigator.serviceWorker.register("/sw.js", { scope: "/" });
    }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      return fetch("/api/v1/push/vapid-public-key", { credentials: "omit" }).then(function (response) {
        if (!response.ok) throw new Failure(null, say.pushFailed);
        return response.json();
      }).then(function (body) {
        return pushSubscription(registration, keyBytes(body.key));
      });
    }).then(function (subscription) {
      var browser = subscription.toJSON();
      var invite = el.invite.value.trim();
      return fetch("/api/v1/subscriptions", {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          channel: "webpush",
          area: chosenArea,
          language: el.language.value,
          level: el.level.value || "verified",
          invite: invite || null,
          endpoint: browser.endpoint,
          keys: browser.keys
        })
      });
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok && body.manage_token) {
          window.location.assign(say.manageUrl.replace("TOKEN", encodeURIComponent(body.manage_token)));
          return;
        }
        var error = body.error || {};
        throw new Failure(error.field, error.message || say.pushFailed);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    if (channel() !== "webpush") return;  // every other channel posts the form as usual
    event.preventDefault();
    clearErrors();
    var chosenArea = area();
    if (!chosenArea) {
      showError("place", say.needArea);
      return;
    }
    submitButton.disabled = true;
    show(submitStatus, say.working);
    subscribePush(chosenArea).catch(function (problem) {
      submitButton.disabled = false;
      submitStatus.hidden = true;
      if (problem instanceof Failure) {
        showError(problem.field, problem.message);
      } else if (problem instanceof TypeError) {
        showError(null, say.offline);  // fetch rejects with a TypeError when offline
      } else if (problem && problem.name === "NotAllowedError") {
        showError("channel", say.blocked);
      } else {
        showError("channel", say.pushFailed);
      }
    });
  });
})();
