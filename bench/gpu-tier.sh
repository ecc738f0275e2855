#!/usr/bin/env bash
# The GPU tier on a real GPU, in under 5 minutes on one device:
#   1. transfer bandwidth of the CUDA tier (kv-gpu-bench: host->device and device->host through the
#      tier's pinned staging buffers, 1 and 4 threads, 4 MiB and 64 MiB objects) next to the
#      simulated tier's model (--gpu-bandwidth-gbps, default 64 GB/s) measured the same way;
#   2. a three-tier run GPU -> CPU -> storage (kv-cache --gpu-backend cuda) and the same run with
#      the simulated GPU tier, with the per-tier table (bytes, bandwidth, latency, demotions).
# Usage: bench/gpu-tier.sh
# Environment: BUILD (default build), OUT (default results/bench-gpu), CACHE_DIR (default $OUT/cache),
# DURATION (default 45, per kv-cache run), MODEL (default llama3.1-8b), USERS (default 50),
# GPU_GB / CPU_GB / STORAGE_GB (tier sizes of the three-tier run, default 4 / 4 / 16 GiB: the storage
# tier stays bounded, so the run needs about that much free disk).
# Exit 3 when a binary is missing, 2 when no CUDA device can be used (the message names why).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
OUT="${OUT:-results/bench-gpu}"
CACHE_DIR="${CACHE_DIR:-$OUT/cache}"
DURATION="${DURATION:-45}"
MODEL="${MODEL:-llama3.1-8b}"
USERS="${USERS:-50}"
GPU_GB="${GPU_GB:-4}"
CPU_GB="${CPU_GB:-4}"
STORAGE_GB="${STORAGE_GB:-16}"
BENCH="$BUILD/bin/kv-gpu-bench"
KV_CACHE="$BUILD/bin/kv-cache"
for b in "$BENCH" "$KV_CACHE"; do
  [ -x "$b" ] || { echo "error: $b not built (cmake --build $BUILD --target kv-cache kv-gpu-bench)" >&2; exit 3; }
done
mkdir -p "$OUT"

echo "== 1. GPU tier transfer bandwidth (GB = 1e9 B)"
for size in 4 64; do
  objects=$(( size == 4 ? 256 : 32 ))
  "$BENCH" --gpu-backend cuda --object-mib "$size" --objects "$objects" --rounds 4 --threads 1 4 | tee "$OUT/bandwidth-cuda-$size.txt"
  echo
done
echo "-- the simulated model, measured the same way (it charges bytes / --gpu-bandwidth-gbps per operation)"
"$BENCH" --gpu-backend simulated --object-mib 64 --objects 32 --rounds 2 --threads 1 4 | tee "$OUT/bandwidth-simulated-64.txt"
echo

echo "== 2. three-tier run: GPU ${GPU_GB} GiB -> CPU ${CPU_GB} GiB -> storage ${STORAGE_GB} GiB ($CACHE_DIR), $MODEL, $USERS users, ${DURATION} s"
runs=()
for backend in cuda simulated; do
  json="$OUT/three-tier-$backend.json"
  args=(--model "$MODEL" --num-users "$USERS" --duration "$DURATION" --gpu-backend "$backend"
        --gpu-mem-gb "$GPU_GB" --cpu-mem-gb "$CPU_GB" --storage-capacity-gb "$STORAGE_GB"
        --generation-mode none --seed 42
        --cache-dir "$CACHE_DIR" --output "$json")
  echo "-- $KV_CACHE ${args[*]}"
  "$KV_CACHE" "${args[@]}" > "$OUT/three-tier-$backend.log" 2>&1 || {
    rc=$?; echo "kv-cache failed (exit $rc), see $OUT/three-tier-$backend.log" >&2; tail -3 "$OUT/three-tier-$backend.log" >&2; exit $rc; }
  runs+=("$backend|$json")
  for _ in $(seq 1 60); do compgen -G "$CACHE_DIR/.kv-cache-trash-*" >/dev/null || break; sleep 1; done
done

python3 - "${runs[@]}" <<'PY'
import json, sys
print()
hdr = f"{'run':<10} {'tier':<8} {'written GiB':>11} {'read GiB':>9} {'write GiB/s':>11} {'read GiB/s':>10} " \
      f"{'write p50/p95 ms':>17} {'read p50/p95 ms':>16} {'entries':>8} {'demoted out':>11}"
print(hdr)
print("-" * len(hdr))
for item in sys.argv[1:]:
    name, path = item.split("|")
    j = json.load(open(path))
    cs = j["summary"]["cache_stats"]
    for t in ("gpu", "cpu", "storage"):
        def ms(k):
            v = cs.get(k)
            return "-" if v is None else f"{v:.2f}"
        print(f"{name:<10} {t:<8} {cs[f'tier_{t}_kv_bytes_written_gb']:>11.2f} {cs[f'tier_{t}_kv_bytes_read_gb']:>9.2f} "
              f"{cs[f'tier_{t}_write_bandwidth_gbps']:>11.3f} {cs[f'tier_{t}_read_bandwidth_gbps']:>10.3f} "
              f"{ms(f'{t}_write_p50_ms') + '/' + ms(f'{t}_write_p95_ms'):>17} "
              f"{ms(f'{t}_read_p50_ms') + '/' + ms(f'{t}_read_p95_ms'):>16} "
              f"{cs[f'{t}_entries']:>8} {cs.get(f'{t}_demotions_out', 0):>11}")
    print(f"{name:<10} requests {j['summary']['total_requests']}, demotions {cs['demotions']}, "
          f"failed writes/reads/demotions {cs['failed_writes']}/{cs['failed_reads']}/{cs['failed_demotions']}, "
          f"gpu_backend {j['config']['gpu_backend']}")
print("\nGiB/s = tier bytes / elapsed (the reference's definition); latencies are per operation.")
PY
