#!/usr/bin/env bash
# `npm test`: typecheck, the engine's pytest suite, then the Node suites (unit, integration, e2e) on real Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "cogcast test: starting a local Redis" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# Headless Chromium (Debian's package) for the dashboard's real-browser check; that one test skips without it.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "cogcast test: installing chromium (apt-get) for the dashboard browser test" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "cogcast test: chromium could not be installed; the browser check will be skipped" >&2
fi

export COGCAST_TINY_MODEL="${COGCAST_TINY_MODEL:-$PWD/var/fixtures/tiny-cogvideox}"
.venv/bin/python worker/engine/make_tiny_pipeline.py "$COGCAST_TINY_MODEL"
export COGCAST_TINY_I2V_MODEL="${COGCAST_TINY_I2V_MODEL:-$PWD/var/fixtures/tiny-cogvideox-i2v}"
.venv/bin/python worker/engine/make_tiny_pipeline.py "$COGCAST_TINY_I2V_MODEL" --kind i2v

# The typecheck beside the engine's pytest suite (each mostly one core), then the Node suites: unit and integration
# two files at a time (no timing in them that a second file could disturb), e2e one file at a time (real worker
# processes, stops and kills).
npx tsc --noEmit -p . &
typecheck=$!
(cd worker/engine && ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
wait "$typecheck"

shopt -s nullglob
export LOG_LEVEL="${LOG_LEVEL:-silent}"
node --import tsx --test --test-concurrency=2 --test-timeout=300000 --test-force-exit test/unit/*.test.ts test/integration/*.test.ts
node --import tsx --test --test-concurrency=1 --test-timeout=300000 --test-force-exit test/e2e/*.test.ts
