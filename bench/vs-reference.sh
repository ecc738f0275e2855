#!/usr/bin/env bash
# Runs the reference kv-cache.py and our kv-cache on the same command, one after the other on the
# same machine, and prints one table: are the simulated users identical, requests, bytes per tier
# inside the window, reference-style bandwidth of both, ours, wall time, CPU seconds per GiB moved,
# peak RSS. What "reference-style" means: docs/metrics.md, "Reference accounting".
#
# Usage: bench/vs-reference.sh REF_DIR [kv-cache flags ...]
#   REF_DIR   the reference's kv_cache_benchmark directory (the one holding kv-cache.py), e.g. a
#             checkout of github.com/hazemawadalla/storage
#   flags     the command both engines run, without --cache-dir/--output (default below: the
#             reference's published comparison run, tiny-1b, 4 users, 10 s)
# Environment: KV_CACHE (default build/bin/kv-cache), PYTHON (a python3 with numpy and yaml; default
# the first of python3, /usr/bin/python3 that has both), OUT (default results/vs-reference; the
# results JSON, logs and the recorded users stay there), CACHE_BASE (default $OUT/cache; each engine
# gets its own empty subdirectory, removed afterwards).
# The reference's users are recorded from its own run (UserSimulator's user generation is wrapped,
# nothing else changes); ours come from the results JSON (workload.users).
# Exit codes: 2 usage, 3 something missing (binary, reference, numpy/yaml, /usr/bin/time), 6 a run
# failed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
REF_DIR="$1"
shift
[ -f "$REF_DIR/kv-cache.py" ] && [ -d "$REF_DIR/kv_cache" ] ||
  { echo "error: $REF_DIR is not the reference's kv_cache_benchmark (no kv-cache.py / kv_cache/)" >&2; exit 3; }
REF_DIR="$(cd "$REF_DIR" && pwd)"
KV_CACHE="${KV_CACHE:-build/bin/kv-cache}"
OUT="${OUT:-results/vs-reference}"
CACHE_BASE="${CACHE_BASE:-$OUT/cache}"
[ -x "$KV_CACHE" ] || { echo "error: $KV_CACHE not built (cmake --build build --target kv-cache)" >&2; exit 3; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is needed (apt-get install time)" >&2; exit 3; }
if [ -z "${PYTHON:-}" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import numpy, yaml' >/dev/null 2>&1; then PYTHON="$p"; break; fi
  done
fi
[ -n "${PYTHON:-}" ] || { echo "error: no python3 with numpy and yaml (apt-get install python3-numpy python3-yaml)" >&2; exit 3; }

FLAGS=("$@")
[ ${#FLAGS[@]} -gt 0 ] || FLAGS=(--model tiny-1b --num-users 4 --duration 10 --gpu-mem-gb 0 --cpu-mem-gb 0
                                 --generation-mode none --seed 42)
for f in "${FLAGS[@]}"; do
  case "$f" in --cache-dir|--output) echo "error: $f is set by the script" >&2; exit 2 ;; esac
done
mkdir -p "$OUT" "$CACHE_BASE"
OUT="$(cd "$OUT" && pwd)"
CACHE_BASE="$(cd "$CACHE_BASE" && pwd)"
rm -rf "$CACHE_BASE/ref" "$CACHE_BASE/ours"
mkdir -p "$CACHE_BASE/ref"

# ---- the reference, with its user population recorded ----
cat > "$OUT/run_reference.py" <<'PY'
import json, sys
ref_dir, users_out = sys.argv[1], sys.argv[2]
sys.path.insert(0, ref_dir)
from kv_cache import workload
from kv_cache.cli import main
made = []
original_user = workload.UserSimulator.generate_user.__func__
def generate_user(cls, user_id, user_type="chatbot", *args, **kwargs):
    u = original_user(cls, user_id, user_type, *args, **kwargs)
    made.append({"user_id": u.user_id, "user_type": user_type, "context_length": u.context_length,
                 "generation_length": u.generation_length, "think_time": u.think_time,
                 "priority": u.priority, "qos_level": u.qos_level.value})
    return u
original_mixed = workload.UserSimulator.generate_mixed_users.__func__
def generate_mixed_users(cls, num_users):
    made.clear()
    users = original_mixed(cls, num_users)
    with open(users_out, "w") as f:
        json.dump(made, f)
    return users
workload.UserSimulator.generate_user = classmethod(generate_user)
workload.UserSimulator.generate_mixed_users = classmethod(generate_mixed_users)
sys.argv = ["kv-cache.py"] + sys.argv[3:]
main()
PY
rm -f "$OUT/reference_users.json"
echo "== reference: kv-cache.py ${FLAGS[*]}" >&2
/usr/bin/time -f "%e %M %U %S" -o "$OUT/reference.time" \
  "$PYTHON" "$OUT/run_reference.py" "$REF_DIR" "$OUT/reference_users.json" "${FLAGS[@]}" \
  --cache-dir "$CACHE_BASE/ref" --output "$OUT/reference.json" > "$OUT/reference.log" 2>&1 ||
  { echo "error: the reference failed (exit $?), see $OUT/reference.log" >&2; exit 6; }
rm -rf "$CACHE_BASE/ref"

# ---- ours ----
echo "== ours: $KV_CACHE ${FLAGS[*]}" >&2
/usr/bin/time -f "%e %M %U %S" -o "$OUT/ours.time" \
  "$KV_CACHE" "${FLAGS[@]}" --cache-dir "$CACHE_BASE/ours" --output "$OUT/ours.json" > "$OUT/ours.log" 2>&1 ||
  { echo "error: kv-cache failed (exit $?), see $OUT/ours.log" >&2; exit 6; }
rm -rf "$CACHE_BASE/ours"

"$PYTHON" - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
ref = json.load(open(os.path.join(out, "reference.json")))
ours = json.load(open(os.path.join(out, "ours.json")))
def times(name):  # wall s, peak RSS KiB, user s, sys s
    w, rss, u, s = open(os.path.join(out, name + ".time")).read().split()[-4:]
    return float(w), int(rss), float(u), float(s)
GIB = 1024 ** 3
rs, os_ = ref.get("summary", {}), ours.get("summary", {})
rc, oc = rs.get("cache_stats", {}), os_.get("cache_stats", {})
ra = ours.get("reference_accounting")  # our figures counted the reference's way (may be absent)

def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}{unit}"
    return f"{v}{unit}"

# Users: the reference's recorded population against ours (results workload.users).
ref_users = json.load(open(os.path.join(out, "reference_users.json"))) if os.path.exists(
    os.path.join(out, "reference_users.json")) else None
our_users = (ours.get("workload") or {}).get("users")
keys = ["user_id", "user_type", "context_length", "generation_length", "think_time", "priority", "qos_level"]
if ref_users is None or not isinstance(our_users, list):
    same = "— (users not recorded)"
else:
    n = min(len(ref_users), len(our_users))
    diff = [i for i in range(n) if any(ref_users[i][k] != our_users[i].get(k) for k in keys)]
    same = (f"yes ({len(ref_users)} users)" if not diff and len(ref_users) == len(our_users)
            else f"NO ({len(diff)} of {n} differ, {len(ref_users)} vs {len(our_users)} users)")

rows = [("users identical (type, lengths, think time, QoS)", same, "")]
rows.append(("requests completed", fmt(ref.get("requests_completed")),
             fmt(ours.get("requests_completed")) + (
                 f" in window, {ra['requests_completed']} reference-style" if ra else " in window")))
for tier in ("gpu", "cpu", "storage"):
    for d, key in (("read", "read"), ("write", "written")):
        k = f"tier_{tier}_kv_bytes_{key}_gb"
        r, o = rc.get(k), oc.get(k)
        if not r and not o:
            continue
        rows.append((f"{tier} {d} GiB inside the window", "— (counts at op start, incl. drain)",
                     fmt(o)))
        rows.append((f"{tier} {d} GiB, reference-style", fmt(r), fmt(ra.get(k)) if ra else "—"))
for d in ("read", "write"):
    k = f"tier_storage_{d}_bandwidth_gbps"
    rows.append((f"storage {d} bandwidth GiB/s, reference-style", fmt(rc.get(k)),
                 fmt(ra.get(k)) if ra else "—"))
    rows.append((f"storage {d} bandwidth GiB/s, ours (inside the window)", "—", fmt(oc.get(k))))
rw, rrss, ru, rsy = times("reference")
ow, orss, ou, osy = times("ours")
def moved(c):
    return sum(c.get(f"tier_{t}_kv_bytes_{d}_gb", 0) or 0 for t in ("gpu", "cpu", "storage")
               for d in ("read", "written"))
rows.append(("wall time s (whole process)", fmt(rw), fmt(ow)))
rows.append(("elapsed_time s (reported)", fmt(rs.get("elapsed_time")), fmt(os_.get("elapsed_time"))))
rows.append(("CPU s per GiB moved (user+sys / GiB its counters report)",
             fmt((ru + rsy) / moved(rc)) if moved(rc) else "—",
             fmt((ou + osy) / moved(oc)) if moved(oc) else "—"))
rows.append(("peak RSS MiB", fmt(rrss / 1024.0), fmt(orss / 1024.0)))
w0 = max(len(r[0]) for r in rows)
w1 = max(len("reference"), max(len(r[1]) for r in rows))
print(f"{'':{w0}}  {'reference':>{w1}}  ours")
for a, b, c in rows:
    print(f"{a:{w0}}  {b:>{w1}}  {c}")
print(f"\n(results and logs in {out}; reference-style = counted at operation start including the drain, "
      "divided by the window, see docs/metrics.md)")
PY
