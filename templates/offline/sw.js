// sopflow's service worker, served from /sw.js so that its scope is the whole app.
// - The app shell (styles, scripts, icons, the offline page) is cached when it installs.
// - Pages are network-first: a page that answers is shown and, for Tugas, the queue and the
//   steps' pages, a copy is kept in the Cache API (the server marks its pages no-store for the
//   browser's HTTP cache; this copy is the worker's own). Without a signal the copy is shown,
//   marked so that the page says "offline — data dari HH.MM".
// - Background Sync sends the offline queue (static/js/antrean.js) where the browser has it.
"use strict";
importScripts({{ antrean_js|safe }});

var CONFIG = {{ config|safe }};
var VERSION = "__VERSION__";
var SHELL = "sopflow-shell-" + VERSION;
var PAGES = "sopflow-halaman-" + VERSION;
// Pages kept for offline use: Tugas, the queue, a kegiatan and its steps' forms.
var KEPT = [/^\/$/, /^\/tugas\/$/, /^\/antrean\/$/, /^\/kegiatan\/\d+\/$/, /^\/kegiatan\/\d+\/langkah\/\d+\/$/];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) {
      return cache.addAll(CONFIG.shell.concat([CONFIG.offline]));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("sopflow-") === 0 && name !== SHELL && name !== PAGES;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function kept(url) {
  return KEPT.some(function (pattern) { return pattern.test(url.pathname); });
}

function pageKey(url) {
  return new Request(url.origin + url.pathname + url.search);
}

function keep(url, response) {
  if (!response.ok || response.redirected || response.type !== "basic" || !kept(url)) {
    return Promise.resolve();
  }
  var copy = response.clone();
  return caches.open(PAGES).then(function (cache) { return cache.put(pageKey(url), copy); });
}

// The kept copy, marked as coming from the cache (the page shows the offline banner).
function fromCache(url) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(pageKey(url), { ignoreVary: true });
  }).then(function (copy) {
    if (!copy) {
      return caches.match(CONFIG.offline, { cacheName: SHELL });
    }
    return copy.text().then(function (html) {
      var headers = new Headers(copy.headers);
      headers.set("X-Sopflow-Sumber", "cache");
      return new Response(html.replace('data-sumber="jaringan"', 'data-sumber="cache"'), {
        status: 200, headers: headers,
      });
    });
  });
}

function networkFirst(request, url) {
  return fetch(request).then(function (response) {
    return keep(url, response).then(function () { return response; }, function () { return response; });
  }, function () {
    return fromCache(url);
  });
}

function shellFirst(request) {
  return caches.match(request, { cacheName: SHELL }).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        var copy = response.clone();
        caches.open(SHELL).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  // Forms and the queue's sends go straight to the network.
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (CONFIG.shell.indexOf(url.pathname) !== -1) {
    event.respondWith(shellFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, url));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "simpan-halaman") {
    // Keep the pages of the user's open steps (sent by the Tugas page), one after another.
    var urls = (data.urls || []).slice(0, 60);
    event.waitUntil(urls.reduce(function (chain, href) {
      return chain.then(function () {
        var url = new URL(href, self.location.origin);
        if (url.origin !== self.location.origin || !kept(url)) return null;
        return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
          return keep(url, response);
        }).catch(function () { return null; });
      });
    }, Promise.resolve()));
  } else if (data.type === "hapus-halaman") {
    // Logging out: another person on this phone must not read the kept pages.
    event.waitUntil(caches.delete(PAGES));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag !== self.SopflowAntrean.SYNC_TAG) return;
  event.waitUntil(self.SopflowAntrean.flush().then(function (outcome) {
    // A rejection asks the browser to try this sync again later, with its own delays.
    if (outcome && (outcome.offline || outcome.retry)) throw new Error("antrean belum terkirim");
  }));
});
