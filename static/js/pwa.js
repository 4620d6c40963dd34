// Installs the service worker (/sw.js), which keeps the report form, the
// subscribe page and the rights pages of this language for reading offline.
if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  });
}
