#!/usr/bin/env bash
# Does recaptioning help alignment? The first N Flickr8k train images (5 captions each):
# `plait align` on the original captions (lit:orig), then `rewrite_captions` (SmolLM2,
# one rewrite of each image's first caption) and `plait align` again with the same
# defaults, steps and seeds on originals plus rewrites (lit:recap); both scored by
# `plait eval` on the official test split (1,000 images, 5,000 captions). Rewrites are
# added only to the train images (the test split is ingested after the rewrite step).
#   bash bench/recaption_align.sh [WORKDIR] [N_IMAGES]      (needs ../shared/data/flickr8k)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export PLAIT_SHARED_DATA=${PLAIT_SHARED_DATA:-$here/../shared/data}
data=$PLAIT_SHARED_DATA/flickr8k
work=${1:-/tmp/plait-recaption-align}
n=${2:-500}
plait=${PLAIT:-$here/.venv/bin/plait}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
t() { local s=$SECONDS; "$@"; echo "  [$((SECONDS - s)) s] $*" >&2; }

mkdir -p "$work"
python3 - "$data/train.tsv" "$work/train.tsv" "$n" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keep = set(list(dict.fromkeys(r["image"] for r in rows))[: int(sys.argv[3])])
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
    w.writeheader()
    w.writerows(r for r in rows if r["image"] in keep)
PY
cat > "$work/rewrite.yaml" <<'YAML'
steps:
  - op: rewrite_captions
    generator: "smollm2?threads=2&batch_size=16"
    n: 1
    max_sources: 1
    max_new_tokens: 40
YAML
c=$work/corpus
[ -d "$c/samples.lance" ] || t "$plait" init "$c"
t "$plait" ingest "$c" "$work/train.tsv" --dataset flickr8k-train --licence research-only --image-root "$data/images" --no-progress
only="source.dataset = 'flickr8k-train'"
[ -d "$c/adapters/orig" ] || t "$plait" align "$c" --image effnet-lite0 --text minilm --name orig --where "$only"
t "$plait" curate "$c" "$work/rewrite.yaml"
[ -d "$c/adapters/recap" ] || t "$plait" align "$c" --image effnet-lite0 --text minilm --name recap --where "$only"
t "$plait" ingest "$c" "$data/test.tsv" --dataset flickr8k-test --licence research-only --image-root "$data/images" --no-progress
for name in orig recap; do
  t "$plait" embed "$c" --encoder "lit:$name"
  t "$plait" eval "$c" --benchmark flickr8k --encoder "lit:$name" --dataset flickr8k-test --out "$work/eval-$name"
done
