// The installable app in the page: registers the service worker, shows the offline banner and
// the queue's badge, puts a step form with its photos into the offline queue (antrean.js) and
// sends the queue when the signal returns. Texts come from the page (data-* attributes), so
// they are translated with the rest of it.
(function () {
  "use strict";
  var Antrean = window.SopflowAntrean;
  // The page's <body>: data-sumber="cache" when the worker showed its kept copy, and whose
  // session made the page (data-pengguna).
  var root = document.body;
  var MAX_SIDE = 2560;
  var JPEG_QUALITY = 0.85;
  var STEP_PAGE = /^\/kegiatan\/\d+\/langkah\/\d+\/$/;
  var retryTimer = null;

  function texts() {
    var holder = document.getElementById("antrean-teks");
    return holder ? holder.dataset : {};
  }

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (_all, name) {
      return values[name] === undefined ? "" : values[name];
    });
  }

  // --- the service worker ---------------------------------------------------------------
  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { return null; });
  }

  function tellWorker(message) {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage(message);
    });
  }

  // Tugas lists the user's open steps: their pages are kept for a day without signal.
  function keepOpenSteps() {
    if (location.pathname !== "/tugas/" || root.dataset.sumber === "cache") return;
    var urls = [];
    document.querySelectorAll("a[href]").forEach(function (link) {
      var url = new URL(link.href, location.href);
      if (url.origin === location.origin && STEP_PAGE.test(url.pathname) && urls.indexOf(url.href) === -1) {
        urls.push(url.href);
      }
    });
    if (urls.length) tellWorker({ type: "simpan-halaman", urls: urls });
  }

  // --- the offline banner -----------------------------------------------------------------
  function showBanner() {
    var banner = document.getElementById("offline-banner");
    if (!banner) return;
    banner.hidden = navigator.onLine && root.dataset.sumber !== "cache";
  }

  // --- the queue's badge, the login notice and the lists ------------------------------------
  function reasonText(reason) {
    var t = texts();
    if (!reason) return "";
    if (reason.message) return reason.message;
    if (reason.code === "jaringan") return t.jaringan;
    if (reason.code === "http") return fill(t.http, { status: reason.status });
    return "";
  }

  function stateText(item) {
    var t = texts();
    var label = { menunggu: t.menunggu, mengirim: t.mengirim, gagal: t.gagal, terkirim: t.terkirim }[item.state];
    var reason = reasonText(item.reason);
    return reason && item.state !== "terkirim" ? label + " — " + reason : label;
  }

  function itemRow(item, withStep) {
    var t = texts();
    var row = document.createElement("li");
    row.className = "list-group-item antrean-item";
    row.dataset.state = item.state;
    var title = document.createElement("div");
    title.className = "fw-semibold";
    if (withStep) {
      var link = document.createElement("a");
      link.href = item.url;
      link.textContent = item.title || item.url;
      title.appendChild(link);
    } else {
      title.textContent = fill(t.isian, { n: item.files.length });
    }
    row.appendChild(title);
    var details = document.createElement("div");
    details.className = "small";
    var when = new Date(item.createdAt);
    details.textContent = fill(t.rincian, {
      n: item.files.length,
      waktu: when.toLocaleString("id-ID", { timeZone: "Asia/Jakarta", dateStyle: "medium", timeStyle: "short" }),
    });
    row.appendChild(details);
    var state = document.createElement("div");
    state.className = "small antrean-status fw-semibold " +
      ({ gagal: "text-danger", terkirim: "text-success" }[item.state] || "text-body-secondary");
    state.textContent = stateText(item);
    row.appendChild(state);
    var actions = document.createElement("div");
    actions.className = "mt-1 d-flex gap-2";
    if (item.state === "gagal") {
      actions.appendChild(button(t.cobaLagi, "btn-outline-primary", function () {
        Antrean.retry(item.id).then(send);
      }));
    }
    if (item.state !== "mengirim") {
      actions.appendChild(button(item.state === "terkirim" ? t.tutup : t.hapus, "btn-outline-danger", function () {
        if (item.state === "terkirim" || window.confirm(t.yakinHapus)) Antrean.remove(item.id);
      }));
    }
    row.appendChild(actions);
    return row;
  }

  function button(label, style, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "btn btn-sm " + style;
    element.textContent = label;
    element.addEventListener("click", onClick);
    return element;
  }

  function drawList(container, items, withStep) {
    var list = container.querySelector("ul") || container.appendChild(document.createElement("ul"));
    list.className = "list-group mb-2";
    list.replaceChildren.apply(list, items.map(function (item) { return itemRow(item, withStep); }));
    container.hidden = !items.length && !container.hasAttribute("data-selalu");
    var empty = container.querySelector("[data-kosong]");
    if (empty) empty.hidden = items.length > 0;
  }

  function refresh() {
    return Promise.all([Antrean.all(), Antrean.getMeta("paused")]).then(function (values) {
      var items = values[0];
      var paused = values[1];
      var t = texts();
      var open = items.filter(Antrean.waiting);
      var badge = document.getElementById("antrean-badge");
      if (badge) {
        badge.hidden = !open.length;
        badge.querySelector(".badge").textContent = String(open.length);
      }
      var login = document.getElementById("antrean-masuk");
      if (login) {
        var photos = Antrean.photoCount(items);
        login.hidden = !(paused && open.length);
        login.querySelector("[data-pesan]").textContent = photos
          ? fill(t.masukFoto, { n: photos }) : fill(t.masukIsian, { n: open.length });
      }
      var everything = document.getElementById("antrean-daftar");
      if (everything) drawList(everything, items, true);
      var here = document.getElementById("antrean-langkah");
      if (here) {
        drawList(here, items.filter(function (item) {
          return new URL(item.url, location.href).pathname === location.pathname;
        }), false);
      }
    });
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    Antrean.nextDelay().then(function (delay) {
      if (delay !== null && navigator.onLine) retryTimer = setTimeout(send, delay + 50);
    });
  }

  function send(force, wait) {
    return Antrean.flush({ force: force === true, wait: wait === true }).then(function (outcome) {
      scheduleRetry();
      return refresh().then(function () { return outcome; });
    }, function () { return refresh(); });
  }

  // --- photos: made smaller in the browser, their taken-at time kept --------------------------

  // EXIF DateTimeOriginal (and OffsetTimeOriginal) of a JPEG, "YYYY:MM:DD HH:MM:SS[ +07:00]",
  // or "" when the file has none. The canvas that makes the smaller copy drops EXIF.
  function exifTakenAt(buffer) {
    var view = new DataView(buffer);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return "";
    var offset = 2;
    while (offset + 4 <= view.byteLength) {
      var marker = view.getUint16(offset);
      var length = view.getUint16(offset + 2);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return "";
      if (marker === 0xffe1 && offset + 10 <= view.byteLength && view.getUint32(offset + 4) === 0x45786966) {
        return readTiff(view, offset + 10, Math.min(view.byteLength, offset + 2 + length));
      }
      offset += 2 + length;
    }
    return "";
  }

  function readTiff(view, start, end) {
    try {
      var little = view.getUint16(start) === 0x4949;
      var u16 = function (at) { return view.getUint16(start + at, little); };
      var u32 = function (at) { return view.getUint32(start + at, little); };
      var entries = function (ifd) {
        var found = {};
        var count = u16(ifd);
        for (var i = 0; i < count; i += 1) {
          var entry = ifd + 2 + i * 12;
          found[u16(entry)] = { type: u16(entry + 2), count: u32(entry + 4), at: entry + 8 };
        }
        return found;
      };
      var ascii = function (entry) {
        if (!entry || entry.type !== 2) return "";
        var at = entry.count > 4 ? u32(entry.at) : entry.at;
        var text = "";
        for (var i = 0; i < entry.count - 1 && start + at + i < end; i += 1) {
          text += String.fromCharCode(view.getUint8(start + at + i));
        }
        return text.trim();
      };
      var first = entries(u32(4));
      if (!first[0x8769]) return "";
      var exif = entries(u32(first[0x8769].at));
      var taken = ascii(exif[0x9003]);
      var zone = ascii(exif[0x9011]);
      return taken ? (zone ? taken + " " + zone : taken) : "";
    } catch (error) {
      return "";
    }
  }

  function smaller(file) {
    var readTime = /^image\/jpe?g$/.test(file.type)
      ? file.slice(0, 256 * 1024).arrayBuffer().then(exifTakenAt, function () { return ""; })
      : Promise.resolve("");
    return readTime.then(function (takenAt) {
      var kept = { name: file.name, blob: file, takenAt: takenAt };
      if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) return kept;
      return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
        var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
        if (scale === 1 && file.type === "image/jpeg") {
          bitmap.close();
          return kept;
        }
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        var context = canvas.getContext("2d");
        context.fillStyle = "#ffffff";
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        bitmap.close();
        return new Promise(function (resolve) {
          canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY);
        }).then(function (blob) {
          if (!blob) return kept;
          return { name: file.name.replace(/\.[^.]*$/, "") + ".jpg", blob: blob, takenAt: takenAt };
        });
      }, function () { return kept; });
    });
  }

  // --- a step form into the queue ---------------------------------------------------------------

  // "Selesai dikerjakan" left at the time the page was made means "now": a page opened in the
  // morning from the cache and sent in the afternoon must not record the morning. WIB.
  function completedNow(form) {
    var field = form.querySelector("input[name$='completed_at']");
    if (field && field.value === field.defaultValue && field.type === "datetime-local") {
      field.value = new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 16);
    }
  }

  function queueForm(form, submitter) {
    var t = texts();
    var status = form.querySelector("[data-antrean-status]");
    var setStatus = function (text) { if (status) { status.hidden = false; status.textContent = text; } };
    completedNow(form);
    var data = new FormData(form, submitter);
    var fields = [];
    var files = [];
    data.forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") return;
      if (value instanceof File) {
        if (value.size) files.push(value);
      } else {
        fields.push([name, value]);
      }
    });
    setStatus(t.menyiapkan);
    var buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach(function (element) { element.disabled = true; });
    return Promise.all(files.map(smaller)).then(function (reduced) {
      return Antrean.add({
        id: crypto.randomUUID(),
        user: root.dataset.pengguna || "",
        // Not form.action: the form's own input named "action" shadows that property.
        url: new URL(form.getAttribute("action") || location.href, location.href).pathname,
        title: document.title.replace(/ · sopflow$/, ""),
        shownAt: Date.now(),
        fields: fields,
        files: reduced.map(function (file) {
          return { id: crypto.randomUUID(), name: file.name, blob: file.blob, takenAt: file.takenAt };
        }),
      });
    }).then(function (item) {
      // Ask that the browser never clears the queue to make room (granted to installed apps).
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () { return null; });
      setStatus(t.tersimpan);
      // Sent now, after any sender already at work, so that the page follows the answer.
      return send(false, true).then(function () { return Antrean.get(item.id); });
    }).then(function (item) {
      buttons.forEach(function (element) { element.disabled = false; });
      if (item && item.state === "terkirim" && item.result && item.result.url) {
        window.location.assign(item.result.url);
      } else if (item && item.state === "gagal") {
        // Refused while the user is still on the form: the page's own POST shows each error
        // on its field, as without the queue, and the form still holds what was entered.
        Antrean.remove(item.id).then(function () { HTMLFormElement.prototype.submit.call(form); });
      } else {
        form.reset();
        setStatus(t.tersimpan);
      }
    }, function (error) {
      if (window.console) console.error("antrean:", error);
      buttons.forEach(function (element) { element.disabled = false; });
      setStatus(t.tidakTersimpan);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-antrean]") && Antrean && window.indexedDB && window.crypto && crypto.randomUUID) {
      event.preventDefault();
      queueForm(form, event.submitter);
    } else if (form.matches("form[data-keluar]")) {
      tellWorker({ type: "hapus-halaman" });
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-antrean-kirim]")) {
      event.preventDefault();
      send(true);
    }
  });

  function start() {
    showBanner();
    if (!Antrean || !window.indexedDB) return;
    registerWorker();
    keepOpenSteps();
    if (window.BroadcastChannel) {
      // The worker (Background Sync) or another tab changed the queue: draw it again, and
      // wait for the next item due, since the sender that had the lock may have left it.
      new BroadcastChannel(Antrean.CHANNEL).onmessage = function () {
        refresh();
        scheduleRetry();
      };
    }
    window.addEventListener("online", function () { showBanner(); send(); });
    window.addEventListener("offline", showBanner);
    refresh().then(function () { if (navigator.onLine) send(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
