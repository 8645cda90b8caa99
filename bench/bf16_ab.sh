#!/usr/bin/env bash
# Same-run A/B of the bf16 policy against PyTorch CPU autocast (docs/bf16.md): per round and workload, the torch
# backend's bf16 step (one worker per variant), then PyTorch's autocast step, one after the other, so each
# round's ratio compares runs seconds apart on a machine whose load moves. Prints one TSV row per run
# (round, workload, variant, median wall ms, median CPU ms) and then the per-round ratios (bench/bf16_ab.py).
#   bash bench/bf16_ab.sh ROUNDS "W1 G U" STEPS [NAME=DIST[,VAR=VALUE...] ...]
# NAME=DIST,...: a torch-bf16 variant built into DIST (tsc --outDir) with extra env, e.g.
# nocache=dist,GENMODELS_BF16_CACHE=0 (default: one variant, bf16=dist).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
workloads=${2:-"W1 G U"}
steps=${3:-10}
shift 3 || true
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("bf16=dist")
export GENMODELS_TORCH_ADDON=${GENMODELS_TORCH_ADDON:-$PWD/native/build/Release/torch_addon.node}
export OMP_WAIT_POLICY=PASSIVE
out=${AB_OUT:-/dev/stdout}
for r in $(seq 1 "$rounds"); do
  for w in $workloads; do
    for v in "${variants[@]}"; do
      name=${v%%=*}
      spec=${v#*=}
      dist=${spec%%,*}
      envs=""
      [ "$spec" = "$dist" ] || envs=${spec#*,}
      j=$(env ${envs//,/ } node "$dist/bench/worker.js" --backend torch --workload "$w" --steps "$steps" --warmup 3 \
        --warmup-sec 1 --threads 1 --precision bf16)
      printf '%s\t%s\t%s\t%s\n' "$r" "$w" "$name" \
        "$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.median+"\t"+(j.cpuMedian??""))' "$j")" >>"$out"
    done
    j=$(/usr/bin/python3 bench/reference.py --workloads "$w" --autocast --steps "$steps" --warmup 3 \
      --warmup-sec 1 --threads 1)
    printf '%s\t%s\t%s\t%s\n' "$r" "$w" autocast \
      "$(/usr/bin/python3 -c 'import json,sys;r=json.loads(sys.argv[1])["results"][sys.argv[2]];print(r["median"], r.get("cpuMedian", ""), sep="\t")' "$j" "$w")" >>"$out"
  done
done
