// trove static search: runs in the reader's browser over the JSON index
// next to this page (search/meta.json, search/t/*.json, search/d/*.json).
// No inline script, no eval, no third-party code; results are built with
// DOM methods and textContent only.
(function () {
  "use strict";
  var form = document.getElementById("static-search");
  var input = document.getElementById("static-q");
  var out = document.getElementById("results");
  var status = document.getElementById("status");
  if (!form || !input || !out || !status) return;
  var base = form.getAttribute("data-index") || "";
  var site = form.getAttribute("data-root") || "../";
  var LIMIT = 100;
  var cache = {};

  function get(path) {
    if (!cache[path]) {
      cache[path] = fetch(base + path).then(function (r) {
        if (!r.ok) throw new Error(path + ": HTTP " + r.status);
        return r.json();
      });
    }
    return cache[path];
  }
  function hex(s) {
    var b = new TextEncoder().encode(s), h = "";
    for (var i = 0; i < b.length; i++) h += (b[i] < 16 ? "0" : "") + b[i].toString(16);
    return h;
  }
  function words(q, meta) {
    var out = [];
    var re = /([\p{Alphabetic}\p{N}]+)(\*?)/gu, m;
    while ((m = re.exec(q.toLowerCase())) !== null) {
      var n = Array.from(m[1]).length;
      if (n >= meta.min_term && n <= meta.max_term) out.push({ t: m[1], prefix: m[2] === "*" });
    }
    return out.slice(0, 16);
  }
  // The shard holding term t: its longest shard key that t starts with.
  function shardsFor(w, meta, keys) {
    var chars = Array.from(w.t), found = [];
    for (var n = Math.min(chars.length, 4); n >= 1; n--) {
      var k = chars.slice(0, n).join("");
      if (keys.has(k)) { found.push(k); break; }
    }
    if (w.prefix) {
      meta.shards.forEach(function (k) {
        if (k.length > w.t.length && k.indexOf(w.t) === 0 && found.length < 64) found.push(k);
      });
    }
    return found;
  }
  function decode(d) {
    var ids = [], id = 0;
    for (var i = 0; i < d.length; i++) { id += d[i]; ids.push(id); }
    return ids;
  }
  function idsFor(w, meta, keys) {
    var ks = shardsFor(w, meta, keys);
    return Promise.all(ks.map(function (k) { return get("t/" + hex(k) + ".json"); }))
      .then(function (shards) {
        var set = new Set();
        shards.forEach(function (s) {
          Object.keys(s).forEach(function (term) {
            if (term === w.t || (w.prefix && term.indexOf(w.t) === 0)) {
              decode(s[term]).forEach(function (id) { set.add(id); });
            }
          });
        });
        return set;
      });
  }
  function row(r) {
    var tr = document.createElement("tr");
    var a = document.createElement("a");
    a.href = site + "emailid/" + r[0] + "/index.html";
    a.textContent = r[0];
    var cells = [a, r[1], r[2], null];
    var subj = document.createElement("a");
    subj.href = a.href;
    subj.textContent = r[3] || "(no subject)";
    cells[3] = subj;
    cells.forEach(function (c) {
      var td = document.createElement("td");
      if (typeof c === "string") td.textContent = c; else td.appendChild(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function show(q, ids, total, meta) {
    var chunks = {};
    ids.forEach(function (id) { chunks[Math.floor((id - 1) / meta.chunk)] = true; });
    return Promise.all(Object.keys(chunks).map(function (k) {
      return get("d/" + k + ".json").then(function (rows) { return rows; });
    })).then(function (lists) {
      var byId = {};
      lists.forEach(function (rows) { rows.forEach(function (r) { byId[r[0]] = r; }); });
      var h = document.createElement("h2");
      h.textContent = "Search: " + q;
      var p = document.createElement("p");
      p.id = "count";
      p.textContent = total + " results" + (total > ids.length ? " (newest " + ids.length + " shown)" : "") + ".";
      out.appendChild(h);
      out.appendChild(p);
      if (!ids.length) return;
      var table = document.createElement("table");
      var head = document.createElement("tr");
      ["#", "Date", "From", "Subject"].forEach(function (t) {
        var th = document.createElement("th");
        th.scope = "col";
        th.textContent = t;
        head.appendChild(th);
      });
      var thead = document.createElement("thead");
      thead.appendChild(head);
      table.appendChild(thead);
      var tb = document.createElement("tbody");
      ids.forEach(function (id) { if (byId[id]) tb.appendChild(row(byId[id])); });
      table.appendChild(tb);
      out.appendChild(table);
    });
  }
  function run(q) {
    out.textContent = "";
    if (!q.trim()) { status.textContent = "Type words to find in subjects, senders, recipients and bodies."; return; }
    status.textContent = "Searching…";
    get("meta.json").then(function (meta) {
      var keys = new Set(meta.shards);
      var ws = words(q, meta);
      if (!ws.length) { status.textContent = "No searchable words (at least " + meta.min_term + " letters or digits)."; return; }
      return Promise.all(ws.map(function (w) { return idsFor(w, meta, keys); })).then(function (sets) {
        sets.sort(function (a, b) { return a.size - b.size; });
        var hits = Array.from(sets[0]).filter(function (id) {
          return sets.every(function (s) { return s.has(id); });
        });
        hits.sort(function (a, b) { return b - a; });
        status.textContent = "";
        return show(q, hits.slice(0, LIMIT), hits.length, meta);
      });
    }).catch(function (e) {
      status.textContent = "The search index could not be loaded (" + e.message + "). Serve this folder over HTTP, or browse below.";
    });
  }
  var note = document.getElementById("nojs");
  if (note) note.hidden = true;
  var q = new URLSearchParams(location.search).get("q") || "";
  input.value = q;
  document.documentElement.classList.add("js");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var v = input.value;
    history.replaceState(null, "", "?q=" + encodeURIComponent(v));
    run(v);
  });
  run(q);
})();
