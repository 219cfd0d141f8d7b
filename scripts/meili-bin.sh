#!/usr/bin/env bash
# Prints the Meilisearch binary the tests, benchmarks and demo use, or nothing:
# $MEILI_BIN if set, else ../shared/meilisearch/meilisearch beside the checkout,
# else `meilisearch` on PATH. (tests/support/meili.rs finds it the same way.)
cd "$(dirname "$0")/.."
if [ -n "${MEILI_BIN:-}" ]; then
  [ -x "$MEILI_BIN" ] && echo "$(cd "$(dirname "$MEILI_BIN")" && pwd)/$(basename "$MEILI_BIN")"
  exit 0
fi
if [ -x ../shared/meilisearch/meilisearch ]; then
  echo "$(cd ../shared/meilisearch && pwd)/meilisearch"
  exit 0
fi
command -v meilisearch 2>/dev/null || true
