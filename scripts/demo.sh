#!/usr/bin/env bash
# `make demo` / `make demo-stop`. Starts, on loopback, three coordinators,
# four nodes in two replica groups and one router. The nodes are real
# Meilisearch when a binary is found (MEILI_BIN, ../shared/meilisearch/, PATH:
# scripts/meili-bin.sh), devnodes otherwise, or the already running Meilisearch
# nodes listed in MEILI_NODES=url,url,...; loads data/fortunes/fortunes.json
# through the router; runs a few searches; shows the cluster; leaves it all
# running. Everything lives in .demo/ and `make demo-stop` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.demo
BIN=target/debug
KEY=${MEILI_MASTER_KEY:-demo-master-key}
ROUTER=http://127.0.0.1:17700
PORTS=(17701 17702 17703)
CTL="$BIN/miroir-ctl --coordinator 127.0.0.1:${PORTS[0]}"

stop() {
  if [ -d "$DEMO" ]; then
    for f in "$DEMO"/*.pid; do
      [ -e "$f" ] || continue
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$DEMO"
    echo "demo stopped and $DEMO removed"
  fi
}

# Runs "$@" in the background, logging to $DEMO/$name.log and recording its PID.
spawn() {
  local name=$1; shift
  "$@" >"$DEMO/$name.log" 2>&1 &
  echo $! >"$DEMO/$name.pid"
}

# Polls a command until it succeeds (20 s at most).
until_ok() {
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "timed out waiting for: $*; logs are in $DEMO/" >&2
  exit 1
}

api() { # METHOD PATH [BODY-FILE|-]
  local data=()
  [ $# -ge 3 ] && data=(--data-binary "@$3")
  curl -sS -X "$1" "$ROUTER$2" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "${data[@]}"
}

wait_task() { # TASK-JSON
  local uid
  uid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["taskUid"])' <<<"$1")
  for _ in $(seq 300); do
    status=$(api GET "/tasks/$uid" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status"))')
    case "$status" in
      succeeded) return 0 ;;
      failed) echo "task $uid failed: $(api GET "/tasks/$uid")" >&2; exit 1 ;;
    esac
    sleep 0.1
  done
  echo "task $uid did not finish" >&2; exit 1
}

start() {
  stop >/dev/null
  mkdir -p "$DEMO"
  peers="1=127.0.0.1:${PORTS[0]},2=127.0.0.1:${PORTS[1]},3=127.0.0.1:${PORTS[2]}"
  for i in 1 2 3; do
    spawn "coordinator-$i" "$BIN/miroir-coordinator" --id "$i" --data-dir "$DEMO/data-$i" \
      --listen "127.0.0.1:${PORTS[$((i-1))]}" --peers "$peers" --metrics-listen "127.0.0.1:1980$i" \
      --node-key "$KEY"
  done
  until_ok sh -c "$CTL --json cluster status | grep -q '\"leader_id\": [0-9]'"
  echo "== 3 coordinators up"

  meili=$(scripts/meili-bin.sh)
  if [ -n "${MEILI_NODES:-}" ]; then
    IFS=, read -r -a nodes <<<"$MEILI_NODES"
    echo "== using the Meilisearch nodes in MEILI_NODES (their master key must be \$MEILI_MASTER_KEY)"
  elif [ -n "$meili" ]; then
    nodes=()
    for i in 0 1 2 3; do
      dir="$PWD/$DEMO/meili-$i"
      mkdir -p "$dir"
      # A subshell, so the node's dumps and snapshots land in its own folder.
      spawn "meili-$i" sh -c "cd '$dir' && exec '$meili' --http-addr 127.0.0.1:1771$i --db-path '$dir/db' \
        --master-key '$KEY' --env development --no-analytics --max-indexing-threads 1 --max-indexing-memory 256MiB"
      nodes+=("http://127.0.0.1:1771$i")
    done
    echo "== 4 real Meilisearch nodes up ($("$meili" --version), from $meili)"
  else
    nodes=()
    for i in 0 1 2 3; do
      spawn "devnode-$i" "$BIN/miroir-devnode" --listen "127.0.0.1:1771$i" --master-key "$KEY"
      nodes+=("http://127.0.0.1:1771$i")
    done
    echo "== 4 devnodes up (in-memory Meilisearch stand-ins: no Meilisearch binary found; set MEILI_BIN to use one)"
  fi
  for i in "${!nodes[@]}"; do
    until_ok curl -sf "${nodes[$i]}/health"
    $CTL nodes add --id "meili-$i" --address "${nodes[$i]}" --group $((i % 2)) >/dev/null
  done
  $CTL nodes list

  spawn router "$BIN/miroir-router" --listen 127.0.0.1:17700 --master-key "$KEY" \
    --coordinators "127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}" --router-id demo
  until_ok curl -sf "$ROUTER/health"
  echo "== router up at $ROUTER"

  echo '{"uid": "fortunes", "primaryKey": "id"}' >"$DEMO/index.json"
  wait_task "$(api POST /indexes "$DEMO/index.json")"
  echo '{"filterableAttributes": ["category", "length", "words"], "sortableAttributes": ["words"]}' >"$DEMO/settings.json"
  wait_task "$(api PATCH /indexes/fortunes/settings "$DEMO/settings.json")"
  python3 - "$DEMO" <<'PY'
import json, sys
docs = json.load(open("data/fortunes/fortunes.json"))
for n in range(0, len(docs), 500):
    json.dump(docs[n:n + 500], open(f"{sys.argv[1]}/batch-{n // 500}.json", "w"))
PY
  for f in "$DEMO"/batch-*.json; do wait_task "$(api POST /indexes/fortunes/documents "$f")"; done
  echo "== loaded $(python3 -c 'import json; print(len(json.load(open("data/fortunes/fortunes.json"))))') fortunes into index 'fortunes'"

  show() { # TITLE BODY
    echo "$2" >"$DEMO/q.json"
    echo; echo "== $1: $2"
    api POST /indexes/fortunes/search "$DEMO/q.json" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("   hits:", r.get("estimatedTotalHits", r.get("totalHits")))
for h in r.get("hits", []):
    print("   -", h["id"], "|", " ".join(h["text"].split())[:90])
for facet, counts in r.get("facetDistribution", {}).items():
    print("   facet", facet + ":", ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))'
  }
  show "search" '{"q": "computer", "limit": 3}'
  show "facets" '{"q": "", "limit": 0, "facets": ["category", "length"]}'
  show "filter and sort" '{"q": "love", "filter": "category = literature AND words < 30", "sort": ["words:asc"], "limit": 3}'

  echo; echo "== cluster status"
  $CTL cluster status
  echo "== shard map of 'fortunes'"
  $CTL indexes describe fortunes
  cat <<MSG

Everything keeps running in the background (logs in $DEMO/).
  Meilisearch API:  $ROUTER   (key: $KEY)
    curl -s $ROUTER/indexes/fortunes/search -H 'Authorization: Bearer $KEY' -H 'Content-Type: application/json' -d '{"q":"coffee"}'
  miroir-ctl:       $CTL cluster status
  grpcurl:          grpcurl -plaintext 127.0.0.1:${PORTS[0]} miroir.v1.Admin/ClusterStatus
  metrics:          curl -s http://127.0.0.1:19801/metrics
  stop it all:      make demo-stop
MSG
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
