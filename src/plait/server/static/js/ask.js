// The answer panel: asks POST /api/corpora/{name}/ask, reads its server-sent events as
// they stream, then shows the answer with its images inline and every [n] citation
// linking to the cited sample's page. Corpus text is inserted as text only.
import { mediaUrl, sampleHref, url } from "./api.js";
import { banner, h } from "./dom.js";

// Server-sent events from a fetch body: yields {event, data} as blocks complete.
async function* events(response) {
  const reader = response.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
      const ev = { event: "message", data: "" };
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) ev.event = line.slice(7);
        else if (line.startsWith("data: ")) ev.data += line.slice(6);
      }
      yield { event: ev.event, data: JSON.parse(ev.data || "{}") };
    }
  }
}

function cite(n, byN) {
  const s = byN[n];
  return s ? h("a", { class: "cite", href: sampleHref(s.sample_id), title: s.sample_id }, `[${n}]`) : `[${n}]`;
}

function render(panel, answer) {
  const byN = Object.fromEntries(answer.sources.map((s) => [s.n, s]));
  const body = h("div", { class: "answer-body" });
  for (const seg of answer.segments) {
    if (seg.kind === "image") {
      const src = byN[seg.n];
      body.append(h("figure", { class: "answer-image" },
        h("a", { href: sampleHref(seg.sample_id) },
          h("img", { src: mediaUrl(seg.media_id, 384), alt: seg.text || `image ${seg.n}` })),
        h("figcaption", {}, seg.text || "", " ", cite(seg.n, byN), src && src.page ? ` p.${src.page}` : "")));
    } else if (seg.kind === "abstain") {
      body.append(h("p", { class: "abstain" }, seg.text));
    } else {
      body.append(h("p", {}, seg.text, " ", ...(seg.cites || []).map((n) => cite(n, byN))));
    }
  }
  const list = h("ol", { class: "answer-sources" }, ...answer.sources.map((s) =>
    h("li", { value: s.n, class: answer.cited.includes(s.n) ? "cited" : "" },
      h("a", { href: sampleHref(s.sample_id) }, s.parent ? `${s.parent} p.${s.page}` : s.sample_id),
      ` · ${s.kind} · ${s.score.toFixed(2)} · `, (s.text || "").split(/\s+/).slice(0, 14).join(" "))));
  const t = answer.timings || {};
  const meta = h("p", { class: "muted" },
    `${answer.generator} · ${answer.sources.length} sources, ${answer.cut.length} cut · ` +
    ["retrieve", "rerank", "generate"].map((k) => `${k} ${(t[k] || 0).toFixed(2)} s`).join(", "));
  const warn = (answer.warnings || []).map((w) => h("p", { class: "warn" }, w));
  panel.replaceChildren(h("h2", {}, "Answer"), body, ...warn,
    answer.sources.length ? h("details", { open: "" }, h("summary", {}, "Sources"), list) : "", meta);
}

export async function run(panel, question) {
  panel.hidden = false;
  const live = h("p", { class: "answer-live" });
  panel.replaceChildren(h("h2", {}, "Answer"), h("p", { class: "muted" }, `Asking: ${question}`), live);
  const r = await fetch(url("/ask"), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question }),
  });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    panel.hidden = true;
    banner(body.message || `HTTP ${r.status}`);
    return null;
  }
  for await (const ev of events(r)) {
    if (ev.event === "delta") live.append(ev.data.text);
    else if (ev.event === "error") { banner(ev.data.message); }
    else if (ev.event === "answer") { render(panel, ev.data.answer); return ev.data.answer; }
  }
  return null;
}
