#!/usr/bin/env bash
# `make demo` / `make demo-stop`: a local cluster of three coordinators on
# loopback, with state in .demo/. The router and Meilisearch nodes join the
# demo when the data plane lands; for now it shows the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=.demo
BIN=target/debug
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

wait_for_leader() {
  for _ in $(seq 100); do
    if $CTL --json cluster status 2>/dev/null | grep -q '"leader_id": [0-9]'; then return 0; fi
    sleep 0.2
  done
  echo "no leader elected; logs are in $DEMO/" >&2
  exit 1
}

start() {
  stop >/dev/null
  mkdir -p "$DEMO"
  peers="1=127.0.0.1:${PORTS[0]},2=127.0.0.1:${PORTS[1]},3=127.0.0.1:${PORTS[2]}"
  for i in 1 2 3; do
    "$BIN/miroir-coordinator" --id "$i" --data-dir "$DEMO/data-$i" --listen "127.0.0.1:${PORTS[$((i-1))]}" \
      --peers "$peers" --metrics-listen "127.0.0.1:1980$i" >"$DEMO/coordinator-$i.log" 2>&1 &
    echo $! >"$DEMO/coordinator-$i.pid"
  done
  wait_for_leader
  echo "== three coordinators are up; registering four (example) Meilisearch nodes in two replica groups"
  $CTL nodes add --id meili-0 --address http://127.0.0.1:7710 --group 0 >/dev/null
  $CTL nodes add --id meili-1 --address http://127.0.0.1:7711 --group 0 >/dev/null
  $CTL nodes add --id meili-2 --address http://127.0.0.1:7712 --group 1 >/dev/null
  $CTL nodes add --id meili-3 --address http://127.0.0.1:7713 --group 1 >/dev/null
  $CTL nodes list
  echo "== creating index 'words' with 8 shards"
  $CTL indexes create words --primary-key id --shards 8
  $CTL indexes describe words
  echo "== its shard map"
  $CTL shards list --index words
  echo "== cluster status"
  $CTL cluster status
  cat <<MSG

The cluster keeps running in the background (logs and data in $DEMO/).
  miroir-ctl:   $CTL cluster status
  grpcurl:      grpcurl -plaintext 127.0.0.1:${PORTS[0]} miroir.v1.Admin/ClusterStatus
  metrics:      curl -s http://127.0.0.1:19801/metrics
  stop it:      make demo-stop
MSG
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
