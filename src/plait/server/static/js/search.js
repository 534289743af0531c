// The search view: query box (text, a dropped image, more-like-this), modes, facets,
// the result grid and paging. A browse (no query) lists samples by the filters alone.
import { aborted, call, latest, url } from "./api.js";
import * as answer from "./ask.js";
import { card } from "./cards.js";
import { $, banner, fmt, h } from "./dom.js";
import { buildFilters, readFilters } from "./facets.js";
import { searchBody, state } from "./state.js";

const MODES = ["hybrid", "fulltext", "adaptive"];

function readForm() {
  const q = state.q;
  q.text = $("#q").value.trim();
  q.k = Math.max(1, Math.min(state.meta.max_page, Number($("#k").value) || 24));
  for (const m of MODES) q[m] = $("#" + m).checked;
  readFilters();
}

function syncQueryChips() {
  const qi = $("#query-image");
  if (!qi) return;
  qi.hidden = !state.q.image;
  if (state.q.image) $("img", qi).src = URL.createObjectURL(state.q.image);
  const lc = $("#like-chip");
  lc.hidden = !state.q.like;
  if (state.q.like) $("code", lc).textContent = state.q.like;
}

function setImage(file) {
  if (file.size > state.meta.max_upload_bytes) {
    banner(`image is over the ${fmt(state.meta.max_upload_bytes)} byte limit`);
    return;
  }
  Object.assign(state.q, { image: file, like: null, offset: 0 });
  syncQueryChips();
  readForm();
  runSearch();
}

export function moreLike(id) {
  Object.assign(state.q, { like: id, text: "", image: null, offset: 0 });
  if (location.hash === "#/" || location.hash === "") showSearch();
  else location.hash = "#/";
}

function queryKind() {
  const q = state.q;
  if (q.image) return q.text ? "image + text" : "image";
  if (q.like) return "more like this";
  return q.fulltext ? "BM25" : q.hybrid ? "hybrid" : "text";
}

async function fetchResults(signal) {
  const q = state.q;
  if (q.image || q.text || q.like) {
    const body = searchBody();
    let res;
    if (q.image) {
      const fd = new FormData();
      fd.append("image", q.image, q.image.name || "query");
      fd.append("query", JSON.stringify(body));
      res = await call(url("/search/image"), { method: "POST", body: fd, signal });
    } else {
      res = await call(url("/search"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
    }
    const items = res.hits.map((hit) => ({
      ...(hit.sample || { id: hit.sample_id, kind: hit.kind, caption: "", dataset: "", licence: "", langs: [] }), hit,
    }));
    return { items, summary: `${items.length} hits (${queryKind()} search) in ${res.took_ms.toFixed(0)} ms` };
  }
  const p = new URLSearchParams({ offset: q.offset, limit: q.k });
  for (const [name, key] of [["langs", "lang"], ["licences", "licence"], ["sources", "source"], ["kinds", "kind"]])
    for (const v of state.filters[name]) p.append(key, v);
  const page = await call(url(`/samples?${p}`), { signal });
  return { items: page.items, summary: `${fmt(page.total)} samples match; showing ${page.offset + 1}–${page.offset + page.items.length}` };
}

// Only the newest search renders: an older response that arrives late is dropped.
export async function runSearch() {
  if (!$("#grid")) return;
  banner("");
  const ticket = latest("search");
  const t0 = performance.now();
  try {
    const { items, summary } = await fetchResults(ticket.signal);
    if (!ticket.current()) return;
    const grid = $("#grid");
    if (!grid) return;
    state.shown = items;
    $("#summary").textContent = `${summary} · ${(performance.now() - t0).toFixed(0)} ms total`;
    grid.replaceChildren(...items.map((s) => card(s, moreLike)));
    if (!items.length) grid.append(h("p", { class: "muted" }, "No results."));
  } catch (e) {
    if (aborted(e) || !ticket.current()) return;
    banner(e.message);
    const grid = $("#grid");
    if (grid) grid.replaceChildren();
  }
}

async function askQuestion() {
  if (!state.q.text) { banner("type a question first"); return; }
  banner("");
  await Promise.all([answer.run($("#answer"), state.q.text).catch((e) => banner(e.message)), runSearch()]);
}

export async function showSearch() {
  $("#view").replaceChildren($("#tpl-search").content.cloneNode(true));
  $("#q").value = state.q.text;
  $("#k").value = state.q.k;
  for (const m of MODES) $("#" + m).checked = state.q[m];
  const refilter = () => { readForm(); state.q.offset = 0; runSearch(); };
  buildFilters(refilter);
  syncQueryChips();
  $("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); refilter(); });
  $("#apply").addEventListener("click", refilter);
  $("#ask").addEventListener("click", () => { readForm(); state.q.offset = 0; askQuestion(); });
  $("#prev").addEventListener("click", () => { state.q.offset = Math.max(0, state.q.offset - state.q.k); runSearch(); });
  $("#next").addEventListener("click", () => { state.q.offset += state.q.k; runSearch(); });
  $("#clear-image").addEventListener("click", () => { state.q.image = null; syncQueryChips(); });
  $("#clear-like").addEventListener("click", () => { state.q.like = null; syncQueryChips(); runSearch(); });
  $("#file").addEventListener("change", (ev) => { if (ev.target.files[0]) setImage(ev.target.files[0]); });
  const drop = $("#drop");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) setImage(f);
  });
  await runSearch();
}

