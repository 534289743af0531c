// plait web UI: vanilla JS, no build step, talks only to the JSON API under /api.
// Every piece of corpus text is inserted as text (never as HTML).
"use strict";

const S = {
  meta: null, corpus: null, stats: null,
  q: { text: "", image: null, like: null, k: 24, offset: 0, hybrid: false, fulltext: false, adaptive: false },
  filters: { langs: [], licences: [], sources: [], kinds: [] },
  scores: { min: null, max: null }, stat: { key: "", min: null, max: null },
  shown: [],
};

// ---- helpers ---------------------------------------------------------------------------
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false)
    el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
const api = (path) => `/api/corpora/${encodeURIComponent(S.corpus)}${path}`;
const mediaUrl = (id, size) => api(`/media/${id}`) + (size ? `?size=${size}` : "");
const sampleHref = (id) => `#/sample/${encodeURIComponent(id)}`;
const fmt = (x) => (typeof x === "number" ? (Number.isInteger(x) ? x.toLocaleString() : x.toFixed(3)) : String(x));

async function call(path, opts = {}) {
  const r = await fetch(path, opts);
  const type = r.headers.get("content-type") || "";
  const body = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const err = new Error(body && body.message ? body.message : `HTTP ${r.status}`);
    err.status = r.status; err.body = body; throw err;
  }
  return body;
}
function banner(msg) {
  const b = $("#banner");
  b.textContent = msg || ""; b.hidden = !msg;
}
function keyHeader() {
  const key = sessionStorage.getItem("plait-key") || "";
  return key ? { "X-API-Key": key } : {};
}

// ---- boot and routing ------------------------------------------------------------------
async function boot() {
  S.meta = await call("/api/corpora");
  const sel = $("#corpus");
  for (const c of S.meta.corpora) sel.append(h("option", { value: c.name }, `${c.name} (${fmt(c.samples)})`));
  S.corpus = new URLSearchParams(location.search).get("corpus") || S.meta.default;
  sel.value = S.corpus;
  sel.addEventListener("change", async () => { S.corpus = sel.value; S.stats = null; await route(); });
  $("#export-open").addEventListener("click", openExport);
  $("#export-form").addEventListener("submit", runExport);
  window.addEventListener("hashchange", route);
  await route();
}

async function route() {
  banner("");
  const hash = location.hash || "#/";
  try {
    if (!S.stats) S.stats = await call(api("/stats"));
    if (hash.startsWith("#/sample/")) return await showSample(decodeURIComponent(hash.slice(9)));
    if (hash.startsWith("#/dashboard")) return await showDashboard();
    return await showSearch();
  } catch (e) { banner(e.message); }
}

// ---- search ----------------------------------------------------------------------------
async function showSearch() {
  const view = $("#view");
  view.replaceChildren($("#tpl-search").content.cloneNode(true));
  $("#q").value = S.q.text;
  $("#k").value = S.q.k;
  for (const m of ["hybrid", "fulltext", "adaptive"]) $("#" + m).checked = S.q[m];
  buildFilters();
  syncQueryChips();
  $("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); readForm(); S.q.offset = 0; runSearch(); });
  $("#apply").addEventListener("click", () => { readForm(); S.q.offset = 0; runSearch(); });
  $("#ask").addEventListener("click", () => { readForm(); S.q.offset = 0; askQuestion(); });
  $("#prev").addEventListener("click", () => { S.q.offset = Math.max(0, S.q.offset - S.q.k); runSearch(); });
  $("#next").addEventListener("click", () => { S.q.offset += S.q.k; runSearch(); });
  $("#clear-image").addEventListener("click", () => { S.q.image = null; syncQueryChips(); });
  $("#clear-like").addEventListener("click", () => { S.q.like = null; syncQueryChips(); runSearch(); });
  $("#file").addEventListener("change", (ev) => { if (ev.target.files[0]) setImage(ev.target.files[0]); });
  const drop = $("#drop");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault(); drop.classList.remove("over");
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) setImage(f);
  });
  await runSearch();
}

// The answer panel (ask.js) above the results; the results show the question's hits too.
async function askQuestion() {
  if (!S.q.text) { banner("type a question first"); return; }
  banner("");
  const panel = $("#answer");
  const ctx = { api, mediaUrl, sampleHref, banner };
  await Promise.all([plaitAsk.run(panel, S.q.text, ctx).catch((e) => banner(e.message)), runSearch()]);
}

function setImage(file) {
  if (file.size > S.meta.max_upload_bytes) { banner(`image is over the ${fmt(S.meta.max_upload_bytes)} byte limit`); return; }
  S.q.image = file; S.q.like = null; S.q.offset = 0;
  syncQueryChips();
  readForm();
  runSearch();
}

function syncQueryChips() {
  const qi = $("#query-image");
  if (!qi) return;
  qi.hidden = !S.q.image;
  if (S.q.image) $("img", qi).src = URL.createObjectURL(S.q.image);
  const lc = $("#like-chip");
  lc.hidden = !S.q.like;
  if (S.q.like) $("code", lc).textContent = S.q.like;
}

function buildFilters() {
  const sources = { langs: S.stats.by_lang, licences: S.stats.by_licence, sources: S.stats.by_source, kinds: S.stats.by_kind };
  for (const fs of document.querySelectorAll("fieldset[data-filter]")) {
    const name = fs.dataset.filter;
    for (const [value, n] of Object.entries(sources[name] || {})) {
      const box = h("input", { type: "checkbox", value, name, checked: S.filters[name].includes(value) });
      box.addEventListener("change", () => { readForm(); S.q.offset = 0; runSearch(); });
      fs.append(h("label", {}, box, " ", value, " ", h("span", { class: "count" }, fmt(n))));
    }
  }
  $("#min-score").value = S.scores.min ?? ""; $("#max-score").value = S.scores.max ?? "";
  $("#stat-key").value = S.stat.key; $("#stat-min").value = S.stat.min ?? ""; $("#stat-max").value = S.stat.max ?? "";
}

function num(sel) { const v = $(sel).value; return v === "" ? null : Number(v); }

function readForm() {
  S.q.text = $("#q").value.trim();
  S.q.k = Math.max(1, Math.min(S.meta.max_page, Number($("#k").value) || 24));
  for (const m of ["hybrid", "fulltext", "adaptive"]) S.q[m] = $("#" + m).checked;
  for (const name of Object.keys(S.filters))
    S.filters[name] = [...document.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value);
  S.scores = { min: num("#min-score"), max: num("#max-score") };
  S.stat = { key: $("#stat-key").value.trim(), min: num("#stat-min"), max: num("#stat-max") };
}

function searchBody() {
  const filters = { ...S.filters, stats: {} };
  if (S.stat.key) filters.stats[S.stat.key] = [S.stat.min, S.stat.max];
  return {
    text: S.q.text || null, like: S.q.like, k: S.q.k, offset: S.q.offset, hybrid: S.q.hybrid,
    fulltext: S.q.fulltext, adaptive: S.q.adaptive, filters, min_score: S.scores.min, max_score: S.scores.max,
  };
}

async function runSearch() {
  const grid = $("#grid");
  if (!grid) return;
  banner("");
  const t0 = performance.now();
  try {
    let items, summary;
    if (S.q.image || S.q.text || S.q.like) {
      const body = searchBody();
      let res;
      if (S.q.image) {
        const fd = new FormData();
        fd.append("image", S.q.image, S.q.image.name || "query");
        fd.append("query", JSON.stringify(body));
        res = await call(api("/search/image"), { method: "POST", body: fd });
      } else {
        res = await call(api("/search"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      }
      items = res.hits.map((hit) => ({ ...(hit.sample || { id: hit.sample_id, kind: hit.kind, caption: "", dataset: "", licence: "", langs: [] }), hit }));
      const what = S.q.image ? (S.q.text ? "image + text" : "image") : S.q.like ? "more like this" : S.q.fulltext ? "BM25" : S.q.hybrid ? "hybrid" : "text";
      summary = `${items.length} hits (${what} search) in ${res.took_ms.toFixed(0)} ms`;
    } else {
      const p = new URLSearchParams({ offset: S.q.offset, limit: S.q.k });
      for (const [name, key] of [["langs", "lang"], ["licences", "licence"], ["sources", "source"], ["kinds", "kind"]])
        for (const v of S.filters[name]) p.append(key, v);
      const page = await call(api(`/samples?${p}`));
      items = page.items;
      summary = `${fmt(page.total)} samples match; showing ${page.offset + 1}–${page.offset + items.length}`;
    }
    S.shown = items;
    $("#summary").textContent = `${summary} · ${(performance.now() - t0).toFixed(0)} ms total`;
    grid.replaceChildren(...items.map(card));
    if (!items.length) grid.append(h("p", { class: "muted" }, "No results."));
  } catch (e) {
    banner(e.message);
    grid.replaceChildren();
  }
}

function card(s) {
  const img = s.image
    ? h("img", { src: mediaUrl(s.image, 256), alt: s.caption || s.id, loading: "lazy" })
    : h("div", { class: "noimg" }, s.kind);
  const parts = s.hit
    ? h("div", { class: "parts", title: "score parts" }, `score ${fmt(s.hit.score)}`,
        ...Object.entries(s.hit.parts).filter(([k]) => !k.endsWith("_rank")).map(([k, v]) => ` · ${k} ${fmt(v)}`))
    : null;
  return h("article", { class: "card", "data-id": s.id },
    h("a", { class: "thumb", href: sampleHref(s.id) }, img),
    h("div", { class: "body" },
      h("p", { class: "caption", title: s.caption }, s.caption || h("span", { class: "muted" }, "(no text)")),
      parts,
      h("div", { class: "tags" }, h("span", { class: "tag" }, s.kind), h("span", { class: "tag" }, s.dataset),
        h("span", { class: "tag" }, s.licence), ...(s.langs || []).map((l) => h("span", { class: "tag" }, l))),
      h("div", { class: "actions" }, h("a", { href: sampleHref(s.id) }, "open"),
        h("a", { href: "#/", class: "more", onclick: (ev) => { ev.preventDefault(); moreLike(s.id); } }, "more like this"))));
}

function moreLike(id) {
  S.q = { ...S.q, like: id, text: "", image: null, offset: 0 };
  if (location.hash === "#/" || location.hash === "") showSearch(); else location.hash = "#/";
}

// ---- sample page -----------------------------------------------------------------------
async function showSample(id) {
  const s = await call(api(`/samples/${id.split("/").map(encodeURIComponent).join("/")}`));
  const slots = s.slots.map((sl) => sl.type === "image"
    ? h("div", { class: "slot" }, h("img", { src: mediaUrl(sl.media_id), alt: `slot ${sl.index}` }),
        h("div", { class: "muted" }, `slot ${sl.index} · ${sl.mime || "?"} · ${sl.width}×${sl.height} · ${sl.media_id.slice(0, 12)}…`))
    : h("div", { class: "slot" }, h("p", {}, sl.text), h("div", { class: "muted" }, `slot ${sl.index}` + (sl.lang ? ` · ${sl.lang}` : ""))));
  const rejected = s.status === "rejected";
  const lineage = h("ol", { class: "lineage" }, ...s.lineage.map((e) =>
    h("li", {}, h("span", { class: e.what.startsWith("dropped") ? "rejected" : "" }, e.what),
      h("div", { class: "muted" }, `${e.command} · run ${e.run_id}` + (e.at ? ` · ${new Date(e.at).toLocaleString()}` : "")))));
  $("#view").replaceChildren(
    h("p", {}, h("a", { href: "#/" }, "‹ back to search")),
    h("h2", {}, s.id, " ", h("span", { class: rejected ? "tag bad" : "tag" }, rejected ? "rejected" : "in corpus")),
    h("div", { class: "sample" },
      h("div", { class: "slots" }, ...slots),
      h("div", {},
        h("div", { class: "panel", id: "lineage" }, h("h3", {}, rejected ? "Why was this dropped?" : "Lineage"), lineage),
        h("div", { class: "panel" }, h("button", { type: "button", id: "more-like", onclick: () => moreLike(s.id) }, "More like this")),
        h("div", { class: "panel" }, h("h3", {}, "Source"), kvTable(s.source)),
        h("div", { class: "panel" }, h("h3", {}, "Stats"), kvTable(s.stats)),
        h("div", { class: "panel" }, h("h3", {}, "Meta"), kvTable(s.meta)))));
}

function kvTable(obj) {
  const rows = Object.entries(obj || {});
  if (!rows.length) return h("p", { class: "muted" }, "none");
  return h("table", {}, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v ?? "")))));
}

// ---- dashboard -------------------------------------------------------------------------
async function showDashboard() {
  const st = S.stats = await call(api("/stats"));
  const [runs, rej] = await Promise.all([call(api("/runs?limit=20")), call(api("/rejected?limit=12"))]);
  const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  $("#view").replaceChildren(
    h("div", { class: "dash" },
      h("div", { class: "panel" }, h("h3", {}, "Samples"), h("div", { class: "big", id: "n-samples" }, fmt(st.samples)),
        h("div", { class: "muted" }, `${fmt(st.media)} media · ${(st.media_bytes / 1048576).toFixed(1)} MiB · ${fmt(st.rejected)} dropped · ${fmt(total(st.quarantine_by_reason))} quarantined`)),
      h("div", { class: "panel", id: "drop-chart" }, h("h3", {}, "Drop reasons"), barChart(st.rejected_by_reason)),
      h("div", { class: "panel" }, h("h3", {}, "Quarantine reasons"), barChart(st.quarantine_by_reason)),
      h("div", { class: "panel" }, h("h3", {}, "By kind"), barChart(st.by_kind)),
      h("div", { class: "panel" }, h("h3", {}, "By source"), barChart(st.by_source)),
      h("div", { class: "panel" }, h("h3", {}, "By licence"), barChart(st.by_licence)),
      h("div", { class: "panel" }, h("h3", {}, "By language"), barChart(st.by_lang)),
      h("div", { class: "panel" }, h("h3", {}, "Embeddings"), kvTable(st.embeddings))),
    h("div", { class: "panel" }, h("h3", {}, "Recently dropped"),
      h("table", {}, h("tr", {}, h("th", {}, "sample"), h("th", {}, "op"), h("th", {}, "reason"), h("th", {}, "run")),
        ...rej.items.map((r) => h("tr", {}, h("td", {}, h("a", { href: sampleHref(r.id) }, r.id)), h("td", {}, r.op), h("td", {}, r.reason), h("td", {}, r.run_id || ""))))),
    h("div", { class: "panel" }, h("h3", {}, "Runs"),
      h("table", {}, h("tr", {}, h("th", {}, "run"), h("th", {}, "command"), h("th", {}, "status"), h("th", {}, "started"), h("th", {}, "counts"), h("th", {}, "")),
        ...runs.items.map((r) => h("tr", {}, h("td", {}, r.run_id), h("td", {}, r.command), h("td", {}, r.status),
          h("td", {}, r.started_at ? new Date(r.started_at).toLocaleString() : ""), h("td", {}, JSON.stringify(r.counts).slice(0, 120)),
          h("td", {}, r.command === "curate" && (r.counts.rejected || 0) > 0 ? h("button", { type: "button", onclick: () => undoRun(r.run_id) }, "undo drops") : ""))))));
}

function barChart(counts) {
  const rows = Object.entries(counts || {}).slice(0, 12);
  if (!rows.length) return h("p", { class: "muted" }, "none");
  const NS = "http://www.w3.org/2000/svg";
  const W = 320, bar = 18, gap = 6, label = 130, max = Math.max(...rows.map(([, n]) => n));
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${rows.length * (bar + gap)}`);
  svg.setAttribute("width", "100%"); svg.setAttribute("role", "img");
  rows.forEach(([name, n], i) => {
    const y = i * (bar + gap);
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", 0); t.setAttribute("y", y + 13); t.textContent = name.length > 20 ? name.slice(0, 19) + "…" : name;
    const title = document.createElementNS(NS, "title"); title.textContent = `${name}: ${n}`;
    const r = document.createElementNS(NS, "rect");
    const w = Math.max(2, ((W - label - 40) * n) / max);
    r.setAttribute("x", label); r.setAttribute("y", y); r.setAttribute("width", w); r.setAttribute("height", bar);
    r.setAttribute("rx", 3); r.setAttribute("fill", "#2f5bd3"); r.append(title);
    const v = document.createElementNS(NS, "text");
    v.setAttribute("x", label + w + 4); v.setAttribute("y", y + 13); v.textContent = fmt(n);
    svg.append(t, r, v);
  });
  return svg;
}

async function undoRun(runId) {
  let key = sessionStorage.getItem("plait-key");
  if (!key) { key = prompt("API key (needed for writes)") || ""; sessionStorage.setItem("plait-key", key); }
  if (!confirm(`Restore every sample run ${runId} dropped?`)) return;
  try {
    const r = await call(api("/restore"), { method: "POST", headers: { "Content-Type": "application/json", ...keyHeader() }, body: JSON.stringify({ run: runId }) });
    S.stats = null;
    await route();
    banner(`restored ${r.restored} samples (run ${r.run_id})`);
  } catch (e) { banner(e.message); }
}

// ---- export ----------------------------------------------------------------------------
function exportBody() {
  const body = { format: $("#export-format").value, shard_size: Number($("#export-shard").value) || 10000 };
  const dest = $("#export-dest").value.trim();
  if (dest) body.dest = dest;
  if (S.q.image) body.ids = S.shown.map((s) => s.id);
  else if (S.q.text || S.q.like) body.query = { ...searchBody(), k: 1000, offset: 0 };
  else body.filters = { ...S.filters };
  return body;
}

function openExport() {
  const what = S.q.image ? `the ${S.shown.length} results shown (image query)`
    : S.q.text || S.q.like ? "the top 1,000 hits of the current search"
    : Object.values(S.filters).some((v) => v.length) ? "every sample matching the current filters" : "the whole corpus";
  $("#export-what").textContent = `Exports ${what} from ${S.corpus}.`;
  $("#export-key").value = sessionStorage.getItem("plait-key") || "";
  $("#export-status").textContent = S.meta.writes_enabled ? "" : "The server has no API key: exports are disabled.";
  $("#export-progress").hidden = true;
  $("#export-dialog").showModal();
}

async function runExport(ev) {
  if (ev.submitter && ev.submitter.value !== "go") return;
  ev.preventDefault();
  sessionStorage.setItem("plait-key", $("#export-key").value);
  const status = $("#export-status"), bar = $("#export-progress");
  try {
    let job = await call(api("/export"), { method: "POST", headers: { "Content-Type": "application/json", ...keyHeader() }, body: JSON.stringify(exportBody()) });
    bar.hidden = false;
    while (job.status === "queued" || job.status === "running") {
      bar.max = Math.max(1, job.total); bar.value = job.done;
      status.textContent = `${job.status}: ${fmt(job.done)} of ${fmt(job.total)} samples…`;
      await new Promise((r) => setTimeout(r, 300));
      job = await call(api(`/exports/${job.job_id}`));
    }
    if (job.status === "failed") throw new Error(job.error ? job.error.message : "export failed");
    bar.max = 1; bar.value = 1;
    const r = job.report;
    status.textContent = `Done: exported ${fmt(r.exported)} records from ${fmt(r.selected)} samples into ${r.shards} shard(s) at ${r.dest}.`;
  } catch (e) { status.textContent = `Error: ${e.message}`; }
}

boot().catch((e) => banner(e.message));
