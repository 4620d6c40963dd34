// "Use my location": fills the hidden lat/lon fields from the phone's GPS.
// The form works without this script; it only adds the button.
(function () {
  "use strict";
  var script = document.currentScript;
  var button = document.getElementById("use-location");
  var status = document.getElementById("location-status");
  var form = button && button.form;
  if (!button || !form || !("geolocation" in navigator)) return;
  button.hidden = false;
  function say(text) { status.textContent = text; status.hidden = false; }
  button.addEventListener("click", function () {
    say(script.dataset.locating);
    navigator.geolocation.getCurrentPosition(function (position) {
      // Five decimals (about a metre) is all the server uses; it seals the point.
      form.elements.lat.value = position.coords.latitude.toFixed(5);
      form.elements.lon.value = position.coords.longitude.toFixed(5);
      say(script.dataset.located);
    }, function () {
      form.elements.lat.value = "";
      form.elements.lon.value = "";
      say(script.dataset.failed);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
})();
