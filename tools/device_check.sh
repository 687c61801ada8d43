#!/usr/bin/env bash
# The GPU checks of one device session, in order of value, each with its own time limit:
#   run (device tool) with carry [".device"] and the command
#   bash ../shared/device/on-device.sh bash tools/device_check.sh
# (after `bash ../shared/device/pack.sh` here), timeout_s 600: the limits below add up to 580 s.
# Everything goes to $OUT (./out without one).
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
step() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.txt" 2>&1
  echo "$name: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
step adapter 30 deno run -A tools/adapter_info.ts
step golden 90 deno task golden
step matmul 150 deno bench -A bench/matmul_bench.ts
step dino_step 120 env DINO_STEP_BENCH_STEPS=5 deno bench -A bench/dino_step_bench.ts
step pretrain 90 deno task pretrain --epochs 2 --no_eval --output_dir "$OUT/synthetic"
step tests 100 deno task test
tail -n 40 "$OUT"/*.txt | tail -c 11000
