// The JSON API under /api/corpora/{name}, and the one rule for concurrent requests: a
// newer request of the same kind aborts the older one, and a response that is no longer
// the newest is never rendered (see latest()).
import { state } from "./state.js";

export const url = (path) => `/api/corpora/${encodeURIComponent(state.corpus)}${path}`;
export const mediaUrl = (id, size) => url(`/media/${id}`) + (size ? `?size=${size}` : "");
export const sampleHref = (id) => `#/sample/${encodeURIComponent(id)}`;
export const samplePath = (id) => url(`/samples/${id.split("/").map(encodeURIComponent).join("/")}`);

export async function call(path, opts = {}) {
  const r = await fetch(path, opts);
  const type = r.headers.get("content-type") || "";
  const body = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const err = new Error(body && body.message ? body.message : `HTTP ${r.status}`);
    err.status = r.status;
    err.body = body;
    throw err;
  }
  return body;
}

export const postJson = (path, body, headers = {}) =>
  call(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });

export function keyHeader() {
  const key = sessionStorage.getItem("plait-key") || "";
  return key ? { "X-API-Key": key } : {};
}

const pending = new Map();

// A ticket for the newest request of `kind`: pass `signal` to fetch, and render only while
// `current()` is true. Starting another request of the same kind aborts this one.
export function latest(kind) {
  const prev = pending.get(kind);
  if (prev) prev.abort();
  const ctl = new AbortController();
  pending.set(kind, ctl);
  return { signal: ctl.signal, current: () => pending.get(kind) === ctl && !ctl.signal.aborted };
}

export const aborted = (e) => e && e.name === "AbortError";
