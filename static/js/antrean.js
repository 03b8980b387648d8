// The offline queue: step forms and their photos kept in IndexedDB until the server has them.
// Loaded by the pages (static/js/offline.js draws it) and by the service worker (/sw.js, for
// Background Sync), so both send through the same code. Each item and each file carries an id
// made here (crypto.randomUUID); the server stores each id once per step round and answers a
// replay with its first answer, so an item whose answer was lost can be sent again safely.
(function (root) {
  "use strict";

  var DB_NAME = "sopflow";
  var ITEMS = "antrean";
  var META = "meta";
  var CHANNEL = "sopflow-antrean";
  var SYNC_TAG = "sopflow-antrean";
  var TOKEN_URL = "/antrean/token/";
  // Sent items stay listed a day (without their photos); unsent ones stay until sent or
  // removed by the user.
  var KEEP_SENT_MS = 24 * 3600 * 1000;
  var FIRST_DELAY_MS = 2000;
  var MAX_DELAY_MS = 15 * 60 * 1000;
  var HEADERS = { "X-Sopflow-Queue": "1", Accept: "application/json" };

  function promised(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function openDb() {
    var request = root.indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = function () {
      request.result.createObjectStore(ITEMS, { keyPath: "id" });
      request.result.createObjectStore(META);
    };
    return promised(request);
  }

  // One request in its own transaction; resolves when the transaction has committed.
  function run(storeName, mode, makeRequest) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(storeName, mode);
        var result;
        promised(makeRequest(transaction.objectStore(storeName))).then(function (value) {
          result = value;
        });
        transaction.oncomplete = function () { db.close(); resolve(result); };
        transaction.onerror = transaction.onabort = function () {
          db.close();
          reject(transaction.error);
        };
      });
    });
  }

  function all() {
    return run(ITEMS, "readonly", function (store) { return store.getAll(); }).then(function (items) {
      return items.sort(function (a, b) { return a.createdAt - b.createdAt; });
    });
  }
  function get(id) { return run(ITEMS, "readonly", function (store) { return store.get(id); }); }
  function put(item) { return run(ITEMS, "readwrite", function (store) { return store.put(item); }); }
  function remove(id) {
    return run(ITEMS, "readwrite", function (store) { return store.delete(id); }).then(notify);
  }
  function getMeta(key) { return run(META, "readonly", function (store) { return store.get(key); }); }
  function setMeta(key, value) {
    return run(META, "readwrite", function (store) { return store.put(value, key); });
  }

  function notify() {
    if (root.BroadcastChannel) {
      var channel = new root.BroadcastChannel(CHANNEL);
      channel.postMessage("berubah");
      channel.close();
    }
  }

  function waiting(item) { return item.state !== "terkirim"; }

  function photoCount(items) {
    return items.filter(waiting).reduce(function (sum, item) { return sum + item.files.length; }, 0);
  }

  function requestSync() {
    if (!root.navigator.serviceWorker) return Promise.resolve();
    return root.navigator.serviceWorker.ready.then(function (registration) {
      return registration.sync ? registration.sync.register(SYNC_TAG) : null;
    }).catch(function () { return null; });
  }

  // A new item: {id, user, url, title, fields: [[name, value]…], files: [{id, name, blob,
  // takenAt}…]}; stored as "menunggu".
  function add(item) {
    item.state = "menunggu";
    item.reason = null;
    item.attempts = 0;
    item.nextAttemptAt = 0;
    item.createdAt = Date.now();
    return put(item).then(function () {
      notify();
      requestSync();
      return item;
    });
  }

  function later(item, reason) {
    item.attempts = (item.attempts || 0) + 1;
    var delay = Math.min(FIRST_DELAY_MS * Math.pow(2, item.attempts - 1), MAX_DELAY_MS);
    item.state = "menunggu";
    item.reason = reason;
    item.nextAttemptAt = Date.now() + delay;
    return put(item).then(function () { return "coba-lagi"; });
  }

  function failed(item, reason) {
    item.state = "gagal";
    item.reason = reason;
    return put(item).then(function () { return "gagal"; });
  }

  function answer(response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === -1) return Promise.resolve(null);
    return response.json().catch(function () { return null; });
  }

  function fetchToken() {
    return root.fetch(TOKEN_URL, {
      credentials: "same-origin", redirect: "manual", cache: "no-store", headers: HEADERS,
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        return { login: true };
      }
      if (!response.ok) return { unavailable: response.status };
      return response.json();
    }, function () {
      return { offline: true };
    });
  }

  function body(item, csrf) {
    var data = new FormData();
    item.fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
    data.append("csrfmiddlewaretoken", csrf);
    data.append("client_id", item.id);
    item.files.forEach(function (file) {
      data.append("lampiran", file.blob, file.name);
      data.append("lampiran_client_id", file.id);
      data.append("lampiran_diambil", file.takenAt || "");
    });
    return data;
  }

  function sendOne(item, csrf) {
    item.state = "mengirim";
    return put(item).then(function () {
      notify();
      var headers = Object.assign({ "X-CSRFToken": csrf }, HEADERS);
      // Sent right from its form, whose page then opens the answer's page: that page says
      // what happened, as after the form's own POST.
      if (item.shownAt && Date.now() - item.shownAt < 60 * 1000) headers["X-Sopflow-Langsung"] = "1";
      return root.fetch(item.url, {
        method: "POST", body: body(item, csrf), credentials: "same-origin",
        redirect: "manual", headers: headers,
      });
    }).then(function (response) {
      if (response.type === "opaqueredirect") {
        item.state = "menunggu";
        return put(item).then(function () { return "masuk"; });
      }
      return answer(response).then(function (json) {
        if (response.ok && json && json.status === "terkirim") {
          item.state = "terkirim";
          item.reason = null;
          item.result = { message: json.message, url: json.url };
          item.sentAt = Date.now();
          // The server has the photos: the browser's copies are not kept.
          item.files = item.files.map(function (file) {
            return { id: file.id, name: file.name, takenAt: file.takenAt, blob: null };
          });
          return put(item).then(function () { return "terkirim"; });
        }
        if (response.status === 403 && !json) {
          // Refused by the CSRF check: a new session must first give a new token.
          item.state = "menunggu";
          return put(item).then(function () { return "masuk"; });
        }
        if (response.status >= 400 && response.status < 500) {
          return failed(item, json && json.message
            ? { message: json.message } : { code: "http", status: response.status });
        }
        return later(item, { code: "http", status: response.status });
      });
    }, function () {
      return later(item, { code: "jaringan" });
    });
  }

  function forget() {
    var cutoff = Date.now() - KEEP_SENT_MS;
    return all().then(function (items) {
      return Promise.all(items.filter(function (item) {
        return item.state === "terkirim" && item.sentAt < cutoff;
      }).map(function (item) {
        return run(ITEMS, "readwrite", function (store) { return store.delete(item.id); });
      }));
    });
  }

  // Send what waits, oldest first. `force`: also items whose delay has not passed (the
  // "Kirim sekarang" button). Stops at the first item that must wait (no signal, server
  // down) or at a login; answers what happened.
  function sendAll(force) {
    var now = Date.now();
    return forget().then(all).then(function (items) {
      var due = items.filter(function (item) {
        return (item.state === "menunggu" || item.state === "mengirim") &&
          (force || (item.nextAttemptAt || 0) <= now);
      });
      if (!due.length) return { sent: 0, left: 0 };
      return fetchToken().then(function (token) {
        if (token.login) {
          return setMeta("paused", true).then(function () { return { login: true, left: due.length }; });
        }
        if (token.offline || token.unavailable) return { offline: true, left: due.length };
        return setMeta("paused", false).then(function () {
          var sent = 0;
          var stop = null;
          var chain = Promise.resolve();
          due.forEach(function (item) {
            chain = chain.then(function () {
              if (stop || (item.user && item.user !== token.user)) return null;
              return sendOne(item, token.csrf).then(function (outcome) {
                notify();
                if (outcome === "terkirim") sent += 1;
                if (outcome === "masuk" || outcome === "coba-lagi") stop = outcome;
              });
            });
          });
          return chain.then(function () {
            if (stop === "masuk") {
              return setMeta("paused", true).then(function () { return { login: true, sent: sent }; });
            }
            return { sent: sent, retry: stop === "coba-lagi" };
          });
        });
      });
    }).then(function (outcome) {
      notify();
      return outcome;
    });
  }

  // One sender at a time across the tabs and the service worker. A sender that finds the queue
  // busy leaves it to the one at work; with `wait` (a form just queued on its page) it waits its
  // turn instead, since the busy sender may have read the queue before the item was added.
  function flush(options) {
    var force = Boolean(options && options.force);
    var locks = root.navigator && root.navigator.locks;
    if (!locks) return sendAll(force);
    var how = options && options.wait ? {} : { ifAvailable: true };
    return locks.request("sopflow-antrean", how, function (lock) {
      return lock ? sendAll(force) : { busy: true };
    });
  }

  // The delay (ms) until the next item is due again, or null when none waits for a delay.
  function nextDelay() {
    return all().then(function (items) {
      var times = items.filter(function (item) { return item.state === "menunggu"; })
        .map(function (item) { return item.nextAttemptAt || 0; });
      if (!times.length) return null;
      return Math.max(0, Math.min.apply(null, times) - Date.now());
    });
  }

  function retry(id) {
    return get(id).then(function (item) {
      if (!item || item.state === "terkirim") return null;
      item.state = "menunggu";
      item.reason = null;
      item.nextAttemptAt = 0;
      return put(item).then(notify);
    });
  }

  root.SopflowAntrean = {
    CHANNEL: CHANNEL, SYNC_TAG: SYNC_TAG,
    add: add, all: all, get: get, remove: remove, retry: retry, flush: flush,
    getMeta: getMeta, setMeta: setMeta, nextDelay: nextDelay,
    photoCount: photoCount, waiting: waiting,
  };
})(self);
