// What the views share: the server's settings, the corpus, its stats, the current query.
export const state = {
  meta: null,
  corpus: null,
  stats: null,
  q: { text: "", image: null, like: null, k: 24, offset: 0, hybrid: false, fulltext: false, adaptive: false },
  filters: { langs: [], licences: [], sources: [], kinds: [] },
  scores: { min: null, max: null },
  stat: { key: "", min: null, max: null },
  shown: [],
};

// The search request body for the current query and filters.
export function searchBody() {
  const filters = { ...state.filters, stats: {} };
  if (state.stat.key) filters.stats[state.stat.key] = [state.stat.min, state.stat.max];
  const q = state.q;
  return {
    text: q.text || null, like: q.like, k: q.k, offset: q.offset, hybrid: q.hybrid,
    fulltext: q.fulltext, adaptive: q.adaptive, filters,
    min_score: state.scores.min, max_score: state.scores.max,
  };
}
