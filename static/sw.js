// raidwatch's service worker: shows pushed alerts and opens their page.
// It caches nothing and fetches nothing: each push carries the whole message
// ({title, body, url, unsubscribe, topic}), encrypted so the push service
// cannot read it. Served from /sw.js so its scope is the whole site.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function text(value, fallback) {
  return typeof value === "string" && value ? value : fallback;
}

// Only pages of this site, or the site named in the message, over http(s).
function safeUrl(value) {
  try {
    var url = new URL(text(value, "/"), self.location.origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : self.location.origin + "/";
  } catch (error) {
    return self.location.origin + "/";
  }
}

self.addEventListener("push", function (event) {
  var message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = {};
  }
  var topic = text(message.topic, "");
  var options = {
    body: text(message.body, ""),
    data: { url: safeUrl(message.url) }
  };
  if (topic) {
    // Same tag, same incident: an update or all clear replaces the earlier alert
    // on the screen instead of piling up, and still makes the phone alert again.
    options.tag = topic;
    options.renotify = true;
  }
  // userVisibleOnly: every push must show something, even a malformed one.
  event.waitUntil(self.registration.showNotification(text(message.title, "raidwatch"), options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || self.location.origin + "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url === url && "focus" in windows[i]) return windows[i].focus();
      }
      return self.clients.openWindow(url);
    })
  );
});
