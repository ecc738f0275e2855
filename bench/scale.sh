#!/usr/bin/env bash
# bench/scale.sh [trace|ramdev ...] — how the engine's own cost scales: CPU per request, requests
# per second and peak RSS from 10 to 10,000 users (one process) and from 1 to 8 MPI ranks, printed
# as one table (docs/performance.md, "Scaling").
#
#   trace   --io-trace-log: null tiers, no storage I/O, so what is measured is the workload, the
#           cache and the run loop (the reference needs 3.6–5.3 ms of CPU per request there);
#   ramdev  real storage I/O (io_uring + O_DIRECT, --max-inflight-mib 128 per rank) on a
#           RAM-backed block device (bench/ramdev.sh; needs root), where the device is fast and
#           not noisy; GiB/s = storage read + write bandwidth.
# Default: both. Each point is one run of DURATION seconds; the columns come from the results JSON
# (requests_completed, elapsed_time; resources.cpu_seconds summed over ranks, resources.
# peak_rss_bytes of the largest rank).
#
# Environment: KV_CACHE (default build/bin/kv-cache), MODEL (llama3.1-8b; trace mode),
# RAMDEV_MODEL (tiny-1b: llama3.1-8b objects of several GiB fill a 6 GiB device), DURATION (10 s per
# point), USERS_LIST ("10 100 1000 10000"), RANKS_LIST ("1 2 4 8"), RANK_USERS (users per rank in
# the MPI rows, 100), OUT (results/scale), RAMDEV_SIZE (6G). The MPI rows need OpenMPI's mpirun
# (skipped with a note without it). About (4 + 4) × DURATION s plus start-up per mode.
set -euo pipefail
cd "$(dirname "$0")/.."
KV_CACHE="${KV_CACHE:-build/bin/kv-cache}"
MODEL="${MODEL:-llama3.1-8b}"
RAMDEV_MODEL="${RAMDEV_MODEL:-tiny-1b}"  # objects that fit the device many times over
DURATION="${DURATION:-10}"
USERS_LIST="${USERS_LIST:-10 100 1000 10000}"
RANKS_LIST="${RANKS_LIST:-1 2 4 8}"
RANK_USERS="${RANK_USERS:-100}"
OUT="${OUT:-results/scale}"
[ -x "$KV_CACHE" ] || { echo "scale: $KV_CACHE not built (scripts/build.sh)" >&2; exit 3; }
command -v python3 >/dev/null || { echo "scale: python3 is needed to read the results" >&2; exit 3; }
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(trace ramdev)
for m in "${MODES[@]}"; do
  case $m in trace | ramdev) ;; *) echo "scale: unknown mode '$m' (trace, ramdev)" >&2; exit 2 ;; esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
KV_CACHE=$(cd "$(dirname "$KV_CACHE")" && pwd)/$(basename "$KV_CACHE")

# The outer call runs this script once per mode (SCALE_INNER=1; inside bench/ramdev.sh for the RAM
# device), then prints the table from the rows the inner calls left in $OUT.
if [[ ${SCALE_INNER:-0} == 0 ]]; then
  rm -f "$OUT"/*.row
  for m in "${MODES[@]}"; do
    if [[ $m == trace ]]; then
      SCALE_INNER=1 KV_CACHE=$KV_CACHE OUT=$OUT "$0" trace
    else
      SCALE_INNER=1 KV_CACHE=$KV_CACHE OUT=$OUT bench/ramdev.sh -s "${RAMDEV_SIZE:-6G}" -- "$0" ramdev
    fi
  done
  python3 - "$OUT" <<'PY'
import glob, os, sys
rows = [open(f).read().rstrip("\n").split("|") for f in glob.glob(os.path.join(sys.argv[1], "*.row"))]
order = {"trace": 0, "ramdev": 1}
rows.sort(key=lambda r: (order.get(r[0], 9), int(r[1]), int(r[2])))
print(f"{'mode':<7} {'ranks':>5} {'users':>6} {'requests':>9} {'req/s':>8} {'CPU ms/req':>10} "
      f"{'CPU %':>6} {'peak RSS MiB':>12} {'GiB/s':>6}")
for mode, ranks, users, req, rps, cpr, cpu_pct, rss, gibps in rows:
    print(f"{mode:<7} {ranks:>5} {users:>6} {req:>9} {rps:>8} {cpr:>10} {cpu_pct:>6} {rss:>12} {gibps:>6}")
PY
  exit 0
fi

MPIRUN=$(command -v mpirun || true)
run_point() {  # run_point MODE RANKS USERS_PER_RANK
  local mode=$1 ranks=$2 users=$3 name="$1-r$2-u$3"
  local json="$OUT/$name.json"
  local model=$MODEL
  [[ $mode == ramdev ]] && model=$RAMDEV_MODEL
  local args=(--model "$model" --num-users "$users" --duration "$DURATION"
    --gpu-mem-gb 0 --cpu-mem-gb 0 --generation-mode none --seed 42 --quiet --output "$json")
  if [[ $mode == trace ]]; then
    args+=(--io-trace-log "$OUT/$name.trace.csv.zst" --storage-capacity-gb 100000)
  else
    args+=(--io-engine io_uring --direct-io --max-inflight-mib 128 --cache-dir "$RAMDEV_DIR/cache")
  fi
  local launch=()
  if ((ranks > 1)); then
    if [[ -z $MPIRUN ]]; then
      echo "scale: mpirun not found: $name skipped" >&2
      return 0
    fi
    launch=("$MPIRUN" --allow-run-as-root --oversubscribe -n "$ranks")
  fi
  echo "scale: $name: ${launch[*]} $KV_CACHE ${args[*]}" >&2
  rm -f "$json"
  "${launch[@]}" "$KV_CACHE" "${args[@]}" >"$OUT/$name.log" 2>&1 || {
    echo "scale: $name failed (exit $?), see $OUT/$name.log" >&2
    return 0
  }
  python3 - "$json" "$mode" "$ranks" "$users" >"$OUT/$name.row" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
mode, ranks, users = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
req = j.get("requests_completed", 0)
el = j["summary"]["elapsed_time"] or 1e-9
res = j.get("resources", {})
cpu = res.get("cpu_seconds") or 0.0
rss = res.get("peak_rss_bytes") or 0
cs = j["summary"]["cache_stats"]
gibps = (cs.get("tier_storage_read_bandwidth_gbps", 0) or 0) + (cs.get("tier_storage_write_bandwidth_gbps", 0) or 0)
cpr = f"{1000 * cpu / req:.3f}" if req else "-"
gib = f"{gibps:.2f}" if mode == "ramdev" else "-"  # null tiers: no real bandwidth
print(f"{mode}|{ranks}|{users * ranks}|{req}|{req / el:.1f}|{cpr}|{100 * cpu / el:.0f}|{rss / 2**20:.0f}|{gib}")
PY
}

for m in "${MODES[@]}"; do
  for u in $USERS_LIST; do run_point "$m" 1 "$u"; done
  for r in $RANKS_LIST; do
    ((r > 1)) || continue
    run_point "$m" "$r" "$RANK_USERS"
  done
done
