// The export dialog: what the current search or filters select, written by the server
// under its export root (needs the API key); the job is polled until done.
import { call, keyHeader, postJson, url } from "./api.js";
import { $, fmt } from "./dom.js";
import { searchBody, state } from "./state.js";

function exportBody() {
  const body = { format: $("#export-format").value, shard_size: Number($("#export-shard").value) || 10000 };
  const dest = $("#export-dest").value.trim();
  if (dest) body.dest = dest;
  if (state.q.image) body.ids = state.shown.map((s) => s.id);
  else if (state.q.text || state.q.like) body.query = { ...searchBody(), k: 1000, offset: 0 };
  else body.filters = { ...state.filters };
  return body;
}

export function openExport() {
  const q = state.q;
  const what = q.image ? `the ${state.shown.length} results shown (image query)`
    : q.text || q.like ? "the top 1,000 hits of the current search"
    : Object.values(state.filters).some((v) => v.length) ? "every sample matching the current filters" : "the whole corpus";
  $("#export-what").textContent = `Exports ${what} from ${state.corpus}.`;
  $("#export-key").value = sessionStorage.getItem("plait-key") || "";
  $("#export-status").textContent = state.meta.writes_enabled ? "" : "The server has no API key: exports are disabled.";
  $("#export-progress").hidden = true;
  $("#export-dialog").showModal();
}

export async function runExport(ev) {
  if (ev.submitter && ev.submitter.value !== "go") return;
  ev.preventDefault();
  sessionStorage.setItem("plait-key", $("#export-key").value);
  const status = $("#export-status"), bar = $("#export-progress");
  try {
    let job = await postJson(url("/export"), exportBody(), keyHeader());
    bar.hidden = false;
    while (job.status === "queued" || job.status === "running") {
      bar.max = Math.max(1, job.total);
      bar.value = job.done;
      status.textContent = `${job.status}: ${fmt(job.done)} of ${fmt(job.total)} samples…`;
      await new Promise((r) => setTimeout(r, 300));
      job = await call(url(`/exports/${job.job_id}`));
    }
    if (job.status === "failed") throw new Error(job.error ? job.error.message : "export failed");
    bar.max = 1;
    bar.value = 1;
    const r = job.report;
    status.textContent = `Done: exported ${fmt(r.exported)} records from ${fmt(r.selected)} samples into ${r.shards} shard(s) at ${r.dest}.`;
  } catch (e) { status.textContent = `Error: ${e.message}`; }
}
