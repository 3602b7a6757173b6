#!/usr/bin/env bash
# A tour of the pkcache command on a scratch cache directory (removed at the end).
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export PKCACHE_DIR="$dir"

python - <<'PY'
import pkcache

@pkcache.cached
def load_table(name, rows=1000):
    return {"name": name, "rows": list(range(rows))}

@pkcache.cached(ttl="1d")
def embed(text):
    return [float(ord(c)) for c in text]

for name in ("users", "orders", "events"):
    load_table(name)
embed("hello world")
print("cached key of load_table('users'):", load_table.cache_key("users"))
PY

step() { printf '\n$ %s\n' "$*"; "$@"; }
step pkcache path
step pkcache list
step pkcache list --function load_table
step pkcache info
key=$(python -c "import pkcache, sys; print(pkcache.Cache().entries('embed')[0].key)")
step pkcache show "${key:0:12}"
step pkcache verify
step pkcache clear --function embed --yes
step pkcache list --json
step pkcache clear --older-than 7d --yes
