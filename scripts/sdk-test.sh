#!/usr/bin/env bash
# `make sdk-test`: the official Meilisearch Python SDK's own test suite
# (../shared/sdk/meilisearch-python), run against one real Meilisearch node
# and then against a router over three real nodes (one replica group, two
# copies of each shard), in the same run; prints passed and failed for both.
# Everything runs on loopback ports chosen here, in a temporary directory that
# is removed at the end, with every process stopped even on failure.
# SDK_TESTS=-k-expression narrows the run (passed to pytest as is); SDK_ROUTER_ONLY=1
# skips the single-node run (for quick checks while working on one route).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/debug
KEY=masterKey # the SDK's tests use this master key
SDK=../shared/sdk/meilisearch-python
MEILI=$(scripts/meili-bin.sh)
[ -n "$MEILI" ] || { echo "sdk-test needs a Meilisearch binary (MEILI_BIN or ../shared/meilisearch/)" >&2; exit 1; }
[ -d "$SDK" ] || { echo "sdk-test needs the SDK in $SDK" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
spawn() { # NAME CMD...
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
until_ok() {
  for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "timed out waiting for: $*" >&2; tail -20 "$WORK"/*.log >&2; exit 1
}
meili() { # NAME PORT
  mkdir -p "$WORK/$1"
  spawn "$1" sh -c "cd '$WORK/$1' && exec '$MEILI' --http-addr 127.0.0.1:$2 --db-path '$WORK/$1/db' \
    --master-key '$KEY' --env development --no-analytics --max-indexing-threads 1"
  until_ok curl -sf "http://127.0.0.1:$2/health"
}

# The suite writes into its folder (caches), and shared/ is read-only in CI.
cp -r "$SDK" "$WORK/sdk"
python3 -m pip install -q --disable-pip-version-check -e "$WORK/sdk" pytest >"$WORK/pip.log" 2>&1 \
  || { cat "$WORK/pip.log" >&2; exit 1; }

suite() { # NAME URL -> prints "passed failed" and keeps pytest's summary
  (cd "$WORK/sdk" && MEILISEARCH_URL="$2" python3 -m pytest -o addopts= -q -p no:cacheprovider \
    -k "${SDK_TESTS:-}" tests >"$WORK/$1.pytest" 2>&1) || true
  python3 - "$WORK/$1.pytest" <<'PY'
import re, sys
last = [l for l in open(sys.argv[1]) if re.search(r"\d+ (passed|failed)", l)]
text = last[-1] if last else ""
num = lambda w: int(m.group(1)) if (m := re.search(rf"(\d+) {w}", text)) else 0
print(num("passed"), num("failed") + num("error"))
PY
}

base_pass=-; base_fail=-; : >"$WORK/baseline.pytest"
if [ -z "${SDK_ROUTER_ONLY:-}" ]; then
  p=$(port); meili baseline "$p"
  read -r base_pass base_fail < <(suite baseline "http://127.0.0.1:$p")
  kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()
fi

c=($(port) $(port) $(port))
peers="1=127.0.0.1:${c[0]},2=127.0.0.1:${c[1]},3=127.0.0.1:${c[2]}"
for i in 1 2 3; do
  spawn "coordinator-$i" "$BIN/miroir-coordinator" --id "$i" --data-dir "$WORK/data-$i" \
    --listen "127.0.0.1:${c[$((i-1))]}" --peers "$peers" --node-key "$KEY"
done
CTL="$BIN/miroir-ctl --coordinator 127.0.0.1:${c[0]}"
until_ok sh -c "$CTL --json cluster status | grep -q '\"leader_id\": [0-9]'"
for i in 0 1 2; do
  n=$(port); meili "node-$i" "$n"
  $CTL nodes add --id "meili-$i" --address "http://127.0.0.1:$n" --group 0 >/dev/null
done
$CTL config set default_replication_factor 2 >/dev/null
r=$(port)
spawn router "$BIN/miroir-router" --listen "127.0.0.1:$r" --master-key "$KEY" \
  --coordinators "127.0.0.1:${c[0]},127.0.0.1:${c[1]},127.0.0.1:${c[2]}" --router-id sdk
until_ok curl -sf "http://127.0.0.1:$r/health"
read -r miroir_pass miroir_fail < <(suite router "http://127.0.0.1:$r")

echo "Meilisearch Python SDK test suite ($(cd "$SDK" && git rev-parse --short HEAD 2>/dev/null || echo as shipped))"
printf '%-44s %8s %8s\n' "" passed failed
printf '%-44s %8s %8s\n' "one Meilisearch node ($("$MEILI" --version))" "$base_pass" "$base_fail"
printf '%-44s %8s %8s\n' "router over 3 nodes (RG=1, RF=2)" "$miroir_pass" "$miroir_fail"
mkdir -p target/sdk-test
cp "$WORK/baseline.pytest" "$WORK/router.pytest" target/sdk-test/
echo "pytest output: target/sdk-test/baseline.pytest, target/sdk-test/router.pytest"
