#!/usr/bin/env bash
# `make jepsen` (full) and `make jepsen-smoke` (smoke): a list of runs of the
# partition suite, each judged by its exit code, then a summary table.
# SEED=N fixes the seed of every run (default: a new one per run, printed).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug}
STORE=${STORE:-jepsen/store}
mode=${1:-smoke}

results=()
failed=0

# run NAME EXPECT ARGS...: EXPECT is `valid` (exit 0) or `caught` (an unsafe
# switch, run with --expect-invalid, must be judged invalid: exit 0 too).
run() {
  local name=$1 expect=$2; shift 2
  local seed_args=()
  # A run that names its own seed (a kept regression) keeps it.
  [ -n "${SEED:-}" ] && [[ " $* " != *" --seed "* ]] && seed_args=(--seed "$SEED")
  echo "== $name: miroir-jepsen run $*"
  local start=$SECONDS
  "$BIN/miroir-jepsen" run --store "$STORE" "${seed_args[@]}" "$@"
  local rc=$?
  local took=$((SECONDS - start))
  local report
  report=$(readlink -f "$STORE/latest" 2>/dev/null || echo "?")
  case "$rc" in
    0) results+=("ok      $name ($expect, ${took}s) $report") ;;
    *) results+=("FAILED  $name (exit $rc, wanted $expect, ${took}s) $report"); failed=1 ;;
  esac
}

# The unsafe switches, each against the workload that must catch it.
teeth() {
  local t=$1
  run teeth-stale-reads caught --workload register --nemesis partition-one,partition-leader \
    --fault-hosts coordinators --time-limit "$t" --unsafe stale-reads --expect-invalid
  # Devnodes cut off for longer than the node timeout: their copies miss
  # writes, and repairs that copy nothing leave them divergent.
  run teeth-serve-unrepaired caught --workload documents --nemesis partition-one,pause \
    --fault-hosts devnodes --node-timeout-ms 1000 --fault-s 3-5 --quiet-s 2-3 \
    --time-limit "$t" --unsafe serve-unrepaired --expect-invalid
  [ "$mode" = smoke ] && return
  run teeth-ack-failed-writes caught --workload documents --nemesis partition-one,pause \
    --fault-hosts devnodes --groups 1 --nodes-per-group 3 --node-timeout-ms 1000 \
    --time-limit "$t" --unsafe ack-failed-writes --expect-invalid
  # Long cuts: a cut-off router's coordinator calls time out (15 s) and its
  # clients go on writing, with the map they had, while the lease is long gone.
  run teeth-ignore-lease caught --workload shard-map --nemesis partition-control \
    --fault-s 20-25 --time-limit "$((t + 20))" --unsafe ignore-lease --expect-invalid
  # A router that restarts while c1 (the first coordinator it asks) is cut
  # off from its peers: one lane keeps c1 cut off in long stretches, and
  # another kills and restarts processes briefly within them.
  run teeth-stale-watches caught --workload shard-map \
    --nemesis partition-peers:15-20 --nemesis kill:2-4 --quiet-s 1-2 \
    --fault-hosts c1,routers --time-limit "$t" --unsafe stale-watches --expect-invalid
}

case "$mode" in
  smoke)
    run mixed valid --workload all --nemesis all --fault-hosts coordinators,routers --time-limit 45
    # Devnodes away for longer than the node timeout: their copies are
    # marked behind and repaired before they serve again.
    run nodes-away valid --workload documents --nemesis partition-one,pause \
      --fault-hosts devnodes --node-timeout-ms 1000 --fault-s 3-5 --quiet-s 2-3 --time-limit 25
    teeth 20
    ;;
  full)
    run partitions valid --workload all --nemesis partition --time-limit 100
    # Two lanes: a kill and a pause (of different processes) may overlap.
    run processes valid --workload all --nemesis kill,pause --nemesis kill,pause --time-limit 90
    run links valid --workload all --nemesis netem --time-limit 60
    run nodes-away valid --workload all --nemesis partition-one,pause,netem \
      --fault-hosts devnodes --node-timeout-ms 1000 --time-limit 60
    run membership valid --workload all --nemesis membership --time-limit 60
    # Seeds that found bugs, kept as regressions (see docs/jepsen.md).
    run regression-listing-pages valid --workload documents --nemesis membership --time-limit 60 \
      --seed 1795717720096121159
    run five-coordinators valid --workload register --nemesis partition-ring,partition-bridge,kill \
      --coordinators 5 --time-limit 60
    teeth 40
    ;;
  *) echo "usage: $0 smoke|full" >&2; exit 2 ;;
esac

echo
echo "== partition suite ($mode)"
printf '%s\n' "${results[@]}"
exit $failed
