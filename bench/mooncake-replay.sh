#!/usr/bin/env bash
# Replays the two full Mooncake FAST'25 traces (../shared/data/mooncake-fast25/, Apache-2.0) through
# kv-cache --mooncake-trace: each hash id is one 512-token KV block object mc_<id>; a block another
# request already wrote is read (prefix reuse = real cache hits), a new one is written.
# Two passes per trace:
#   trace-only  --io-trace-log (null tiers, no real I/O): the trace's block reuse under the tier sizes;
#   real        the same replay against the storage directory for DURATION seconds.
#
# Usage: bench/mooncake-replay.sh [conversation|synthetic ...]   (default: both)
# Environment: KV_CACHE (default build/bin/kv-cache), TRACE_DIR (default ../shared/data/mooncake-fast25),
#   MODEL (tiny-1b: 12 MiB per block), USERS (workers, 32), DURATION (60 s), SPEEDUP (60: the one-hour
#   conversation trace in ~1 minute), CPU_GB (4), RAMDEV=1 (CACHE_DIR on a fresh RAM-backed block device,
# bench/ramdev.sh; RAMDEV_SIZE default 6G), CACHE_DIR (default $OUT/cache), OUT (results/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${RAMDEV:-0} == 1 && -z ${RAMDEV_DIR:-} ]]; then  # CACHE_DIR on a RAM device (bench/ramdev.sh)
  exec bench/ramdev.sh -s "${RAMDEV_SIZE:-6G}" -- env CACHE_DIR=@RAMDEV@/cache "$0" "$@"
fi
KV_CACHE="${KV_CACHE:-build/bin/kv-cache}"
TRACE_DIR="${TRACE_DIR:-../shared/data/mooncake-fast25}"
MODEL="${MODEL:-tiny-1b}"
USERS="${USERS:-32}"
DURATION="${DURATION:-60}"
SPEEDUP="${SPEEDUP:-60}"
CPU_GB="${CPU_GB:-4}"
OUT="${OUT:-results/bench}"
CACHE_DIR="${CACHE_DIR:-$OUT/cache}"
mkdir -p "$OUT"
[ -x "$KV_CACHE" ] || { echo "error: $KV_CACHE not built (scripts/build.sh)" >&2; exit 3; }
command -v python3 >/dev/null || { echo "error: python3 is needed to read the results" >&2; exit 3; }
TRACES=("$@")
[ ${#TRACES[@]} -gt 0 ] || TRACES=(conversation synthetic)

common=(--model "$MODEL" --num-users "$USERS" --duration "$DURATION" --gpu-mem-gb 0 --cpu-mem-gb "$CPU_GB"
        --generation-mode none --seed 42 --quiet --trace-speedup "$SPEEDUP" --replay-cycles 1)
rows=()
for t in "${TRACES[@]}"; do
  trace="$TRACE_DIR/${t}_trace.jsonl"
  [ -f "$trace" ] || { echo "error: $trace not found" >&2; exit 3; }
  for mode in trace-only real; do
    json="$OUT/mooncake-$t-$mode.json"
    extra=(--cache-dir "$CACHE_DIR")
    [ "$mode" = trace-only ] && extra+=(--io-trace-log "$OUT/mooncake-$t-trace.csv.zst" --storage-capacity-gb 1024)
    echo "== $t, $mode" >&2
    "$KV_CACHE" "${common[@]}" "${extra[@]}" --mooncake-trace "$trace" --output "$json" >"$OUT/mooncake-$t-$mode.log"
    rows+=("$(python3 - "$json" "$t" "$mode" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); s = j["summary"]; c = s["cache_stats"]; m = j["mooncake_stats"]
print(f'{sys.argv[2]:<13} {sys.argv[3]:<10} {j["requests_completed"]:>8} {m["block_lookups"]:>9} '
      f'{100 * m["block_hit_rate"]:>7.1f} {c["tier_storage_read_bandwidth_gbps"]:>8.2f} '
      f'{c["tier_storage_write_bandwidth_gbps"]:>8.2f} {s["end_to_end_latency_ms"]["p95"]:>10.1f} {s["elapsed_time"]:>7.1f}')
EOF
)")
  done
done
printf '%-13s %-10s %8s %9s %7s %8s %8s %10s %7s\n' trace mode requests blocks 'hit%' 'rd GiB/s' 'wr GiB/s' 'E2E P95 ms' 'time s'
printf '%s\n' "${rows[@]}"
