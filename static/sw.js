// raidwatch's service worker: keeps the report form, the subscribe page and the
// know-your-rights pages readable offline, sends reports saved while offline,
// and shows pushed alerts. Each push carries the whole message ({title, body,
// url, unsubscribe, topic}), encrypted so the push service cannot read it.
// Served from /sw.js so its scope is the whole site.
"use strict";

// The report queue (IndexedDB) and its sender, shared with the report page.
importScripts("/static/js/offline-report.js");

// Bump on any change to what is cached or how: activate deletes every other
// raidwatch-* cache, so a reader never mixes pages and files of two versions.
var VERSION = "raidwatch-2";
var PAGES = VERSION + "-pages";
var FILES = VERSION + "-files";
var LANGUAGE = "[a-z]{2,3}(?:-[a-z]+)?";
// Never cached, never answered from a cache: volunteer and invitation pages,
// the API, event streams, alert links and unsubscribe links (tokens in the
// path), webhooks and the language switch. Checked before anything else.
var NEVER = new RegExp(
  "^/(?:" + LANGUAGE + "/)?(?:volunteer|join)(?:/|$)|^/(?:api|events|a|u|sms|language|sw\\.js)(?:/|$)"
);
// The pages kept for offline reading: the form, the subscribe page, the rights
// pages (index, topics, the card page; not the PDF).
var KEPT = new RegExp("^/(" + LANGUAGE + ")/(?:report|subscribe|rights/(?:[a-z0-9_-]+)?)$");
var FILE_URLS = [
  "/manifest.webmanifest",
  "/static/css/site.css",
  "/static/css/rights.css",
  "/static/css/print-card.css",
  "/static/js/locate.js",
  "/static/js/offline-report.js",
  "/static/js/pwa.js",
  "/static/js/subscribe.js",
  "/static/icons/raidwatch.svg"
];
var DAY_MS = 24 * 60 * 60 * 1000;

function isFile(path) {
  return path.indexOf("/static/") === 0 || path === "/manifest.webmanifest";
}

function keep(cacheName, request, response) {
  // A redirected response cannot answer a navigation later; an error is not worth keeping.
  if (!response || !response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
  return caches.open(cacheName).then(function (cache) { return cache.put(request, response); });
}

function fetchAndKeep(cacheName, url) {
  // No cookies: these are public pages, and a volunteer's session must never
  // ride along on a background fetch (its save could race a sign-in).
  return fetch(url, { credentials: "omit" }).then(function (response) {
    return keep(cacheName, url, response.clone()).then(function () { return response; });
  });
}

// The pages of one language: the form, the subscribe page, the rights index and
// every rights page it links to. Refreshed at most daily; a visit to a page
// refreshes that page anyway (network first). A mark kept after the last page
// says the whole set is there (a visit alone keeps only the page visited).
var crawled = {};
var crawling = {};
function keepLanguage(language) {
  if (Date.now() - (crawled[language] || 0) < DAY_MS) return Promise.resolve();
  if (!crawling[language]) {
    crawling[language] = keepPages(language).then(function (date) { crawled[language] = date; }, function () {})
      .then(function () { delete crawling[language]; });
  }
  return crawling[language];
}

// Resolves with when the language's pages were all kept; rejects if one could not be fetched.
function keepPages(language) {
  var base = "/" + language + "/";
  var mark = base + "rights/.kept";  // never a page: topic keys have no dot
  var now = Date.now();
  return caches.open(PAGES).then(function (cache) {
    return cache.match(mark).then(function (held) {
      var date = held && Number(held.headers.get("x-kept-at"));
      if (date && now - date < DAY_MS) return date;
      return Promise.all([fetchAndKeep(PAGES, base + "report"), fetchAndKeep(PAGES, base + "subscribe")])
        .then(function () { return fetchAndKeep(PAGES, base + "rights/"); })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          var pattern = new RegExp('href="(' + base + 'rights/[a-z0-9_-]+(?:\\?[a-z]+=[a-z]+)?)"', "g");
          var found = {};
          var match;
          while ((match = pattern.exec(html))) found[match[1]] = true;
          // One at a time: a cheap phone on a bad connection has little to spare.
          return Object.keys(found).reduce(function (done, url) {
            return done.then(function () { return fetchAndKeep(PAGES, url); });
          }, Promise.resolve());
        })
        .then(function () {
          return cache.put(mark, new Response("", { headers: { "x-kept-at": String(now) } }));
        })
        .then(function () { return now; });
    });
  });
}

function languagesOpen() {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    var languages = {};
    windows.forEach(function (client) {
      var found = new RegExp("^/(" + LANGUAGE + ")/").exec(new URL(client.url).pathname);
      if (found) languages[found[1]] = true;
    });
    return Object.keys(languages);
  });
}

// Install never fails for want of a file: the push alerts depend on this worker.
self.addEventListener("install", function (event) {
  var files = caches.open(FILES).then(function (cache) {
    return Promise.all(FILE_URLS.map(function (url) { return cache.add(url).catch(function () {}); }));
  });
  // The pages of the language being read (more are kept as languages are
  // visited), waited for at most ten seconds: until the worker is installed,
  // a push subscription waits too. A visit finishes what is left.
  var pages = languagesOpen().then(function (languages) { return Promise.all(languages.map(keepLanguage)); });
  var enough = new Promise(function (resolve) { setTimeout(resolve, 10000); });
  event.waitUntil(Promise.all([files, Promise.race([pages, enough])]).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.map(function (name) {
        if (name.indexOf("raidwatch-") === 0 && name !== PAGES && name !== FILES) return caches.delete(name);
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

// Pages: the network first, so a reader online always sees today's page; the
// copy kept from the last visit when the network fails.
function pageFirst(request) {
  return fetch(request).then(function (response) {
    return keep(PAGES, request, response.clone()).then(function () { return response; });
  }, function (error) {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request, { ignoreVary: true }).then(function (held) {
        // A rights link with another ?jurisdiction= still finds the page, which names its country.
        return held || cache.match(request, { ignoreVary: true, ignoreSearch: true });
      });
    }).then(function (held) {
      if (held) return held;
      if (request.mode === "navigate") return startPage(request);
      throw error;
    });
  });
}

// Offline, the installed app's start page ("/") or a home page opens the kept
// report form of that language (for "/", of the language last kept), since the
// home page itself is not kept: its list of incidents would be out of date.
var HOME = new RegExp("^/(?:(" + LANGUAGE + ")/)?$");
function startPage(request) {
  var home = HOME.exec(new URL(request.url).pathname);
  return caches.open(PAGES).then(function (cache) {
    return cache.keys().then(function (requests) {
      // Cache keys come back oldest first, and a page kept again moves to the end.
      var languages = requests.map(function (kept) { return (KEPT.exec(new URL(kept.url).pathname) || [])[1]; });
      var language = home && (home[1] || languages.filter(Boolean).pop());
      if (!language || languages.indexOf(language) < 0) return Response.error();
      var form = "/" + language + "/report";
      return cache.match(form, { ignoreVary: true }).then(function (held) {
        return Response.redirect(held ? form : "/" + language + "/rights/", 302);
      });
    });
  });
}

// Static files: the kept copy at once, refreshed in the background for next
// time. Their names carry no version (no manifest storage), so a copy is never
// trusted for longer than one visit.
function fileFirst(event) {
  var request = event.request;
  var fresh = fetch(request).then(function (response) {
    return keep(FILES, request, response.clone()).then(function () { return response; });
  });
  event.waitUntil(fresh.catch(function () {}));
  return caches.match(request, { ignoreVary: true, cacheName: FILES }).then(function (held) {
    return held || fresh;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;  // reports and forms always go to the network
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || NEVER.test(url.pathname)) return;
  if (isFile(url.pathname)) {
    event.respondWith(fileFirst(event));
    return;
  }
  if (KEPT.test(url.pathname)) {
    event.respondWith(pageFirst(request));
  } else if (request.mode === "navigate" && HOME.test(url.pathname)) {
    event.respondWith(fetch(request).catch(function () { return startPage(request); }));
  }
  // Visiting any page of a language keeps that language's pages for offline reading.
  var visited = new RegExp("^/(" + LANGUAGE + ")/").exec(url.pathname);
  if (visited && request.mode === "navigate") event.waitUntil(keepLanguage(visited[1]).catch(function () {}));
});

// Background Sync: the browser wakes the worker when the connection returns,
// even with no raidwatch page open, and the saved reports go out.
self.addEventListener("sync", function (event) {
  if (event.tag === self.raidwatchReports.SYNC_TAG) {
    event.waitUntil(self.raidwatchReports.flush().then(tellPages));
  }
});

// Open report pages show what happened to the saved reports.
function tellPages() {
  return self.clients.matchAll({ type: "window" }).then(function (windows) {
    windows.forEach(function (client) { client.postMessage({ raidwatch: "reports" }); });
  });
}

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
