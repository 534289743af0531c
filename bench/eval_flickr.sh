#!/usr/bin/env bash
# Flickr8k through `plait eval`, as a user runs it: ingest the train and test splits,
# align lit:flickr on train, embed, and evaluate on the official test split (1,000
# images, 5,000 captions), searching only the test images. Prints the wall time of each
# step; `plait align` also prints the feature caches it filled and its own wall time.
#   bash bench/eval_flickr.sh [WORKDIR] [IMAGE_RECIPE] [TEXT_TOWER] [ADAPTER]
# (needs ../shared/data/flickr8k). ALIGN_ARGS passes more options to `plait align`.
# The defaults' parts, each over the same corpus (its image features are reused):
#   ALIGN_ARGS='--hub-k 0' bash bench/eval_flickr.sh /tmp/plait-eval-flickr effnet-lite2+effnet-lite0 'minilm?layers=4,5,6&join=concat' flickr-nohub
#   ALIGN_ARGS='--hub-k 0' bash bench/eval_flickr.sh /tmp/plait-eval-flickr effnet-lite2+effnet-lite0 minilm flickr-pooled
# The cheaper image tower, in its own corpus:
#   bash bench/eval_flickr.sh /tmp/plait-eval-flickr-lite0 effnet-lite0
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${PLAIT_SHARED_DATA:-$here/../shared/data}/flickr8k
work=${1:-/tmp/plait-eval-flickr}
image=${2:-effnet-lite2+effnet-lite0}
text=${3:-minilm?layers=4,5,6&join=concat}
name=${4:-flickr}
plait=${PLAIT:-$here/.venv/bin/plait}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
t() { local s=$SECONDS; "$@"; echo "  [$((SECONDS - s)) s] $*" >&2; }

[ -d "$work/samples.lance" ] || t "$plait" init "$work"
t "$plait" ingest "$work" "$data/train.tsv" --dataset flickr8k-train --licence research-only --image-root "$data/images" --no-progress
t "$plait" ingest "$work" "$data/test.tsv" --dataset flickr8k-test --licence research-only --image-root "$data/images" --no-progress
[ -d "$work/adapters/$name" ] || t "$plait" align "$work" --image "$image" --text "$text" --name "$name" --where "source.dataset = 'flickr8k-train'" ${ALIGN_ARGS:-}
t "$plait" embed "$work" --encoder "lit:$name"
t "$plait" eval "$work" --benchmark flickr8k --encoder "lit:$name" --dataset flickr8k-test --out "$work/eval-$name"
