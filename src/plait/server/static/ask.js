// plait web UI, answer panel: asks POST /api/corpora/{name}/ask, reads its server-sent
// events as they stream, then shows the answer with its images inline and every [n]
// citation linking to the cited sample's page. Corpus text is inserted as text only.
"use strict";

const plaitAsk = (() => {
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) e.append(kid instanceof Node ? kid : String(kid));
    return e;
  }

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

  function cite(n, byN, sampleHref) {
    const s = byN[n];
    return s ? el("a", { class: "cite", href: sampleHref(s.sample_id), title: s.sample_id }, `[${n}]`) : `[${n}]`;
  }

  function render(panel, answer, ctx) {
    const byN = Object.fromEntries(answer.sources.map((s) => [s.n, s]));
    const body = el("div", { class: "answer-body" });
    for (const seg of answer.segments) {
      if (seg.kind === "image") {
        const src = byN[seg.n];
        body.append(el("figure", { class: "answer-image" },
          el("a", { href: ctx.sampleHref(seg.sample_id) },
            el("img", { src: ctx.mediaUrl(seg.media_id, 384), alt: seg.text || `image ${seg.n}` })),
          el("figcaption", {}, seg.text || "", " ", cite(seg.n, byN, ctx.sampleHref), src && src.page ? ` p.${src.page}` : "")));
      } else if (seg.kind === "abstain") {
        body.append(el("p", { class: "abstain" }, seg.text));
      } else {
        body.append(el("p", {}, seg.text, " ", ...(seg.cites || []).map((n) => cite(n, byN, ctx.sampleHref))));
      }
    }
    const list = el("ol", { class: "answer-sources" }, ...answer.sources.map((s) =>
      el("li", { value: s.n, class: answer.cited.includes(s.n) ? "cited" : "" },
        el("a", { href: ctx.sampleHref(s.sample_id) }, s.parent ? `${s.parent} p.${s.page}` : s.sample_id),
        ` · ${s.kind} · ${s.score.toFixed(2)} · `, (s.text || "").split(/\s+/).slice(0, 14).join(" "))));
    const t = answer.timings || {};
    const meta = el("p", { class: "muted" },
      `${answer.generator} · ${answer.sources.length} sources, ${answer.cut.length} cut · ` +
      ["retrieve", "rerank", "generate"].map((k) => `${k} ${(t[k] || 0).toFixed(2)} s`).join(", "));
    const warn = (answer.warnings || []).map((w) => el("p", { class: "warn" }, w));
    panel.replaceChildren(el("h2", {}, "Answer"), body, ...warn,
      answer.sources.length ? el("details", { open: "" }, el("summary", {}, "Sources"), list) : "", meta);
  }

  // ctx: { api(path), mediaUrl(id, size), sampleHref(id), banner(msg) }
  async function run(panel, question, ctx) {
    panel.hidden = false;
    const live = el("p", { class: "answer-live" });
    panel.replaceChildren(el("h2", {}, "Answer"), el("p", { class: "muted" }, `Asking: ${question}`), live);
    const r = await fetch(ctx.api("/ask"), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question }),
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      panel.hidden = true;
      ctx.banner(body.message || `HTTP ${r.status}`);
      return null;
    }
    for await (const ev of events(r)) {
      if (ev.event === "delta") live.append(ev.data.text);
      else if (ev.event === "error") { ctx.banner(ev.data.message); }
      else if (ev.event === "answer") { render(panel, ev.data.answer, ctx); return ev.data.answer; }
    }
    return null;
  }

  return { run };
})();
