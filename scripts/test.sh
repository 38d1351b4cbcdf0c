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

# The tiny text and image-to-video pipelines, built beside the typecheck.
export COGCAST_TINY_MODEL="${COGCAST_TINY_MODEL:-$PWD/var/fixtures/tiny-cogvideox}"
export COGCAST_TINY_I2V_MODEL="${COGCAST_TINY_I2V_MODEL:-$PWD/var/fixtures/tiny-cogvideox-i2v}"
.venv/bin/python worker/engine/make_tiny_pipeline.py "$COGCAST_TINY_MODEL" & tiny_t2v=$!
.venv/bin/python worker/engine/make_tiny_pipeline.py "$COGCAST_TINY_I2V_MODEL" --kind i2v & tiny_i2v=$!
npx tsc --noEmit -p .
wait "$tiny_t2v"
wait "$tiny_i2v"

# The engine's pytest suite beside the Node unit suites (pure: no Redis, no processes; its report is printed once
# it ends), then the integration suites (a 1,000-request burst on Redis among them) and the e2e suites (real worker
# processes, stops and kills), one file at a time and alone.
mkdir -p var
(cd worker/engine && exec ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests) > var/engine-tests.log 2>&1 &
engine_tests=$!

shopt -s nullglob
export LOG_LEVEL="${LOG_LEVEL:-silent}"
node --import tsx --test --test-concurrency=1 --test-timeout=300000 --test-force-exit test/unit/*.test.ts
engine_status=0
wait "$engine_tests" || engine_status=$?
echo "cogcast test: the engine's pytest suite:" >&2
cat var/engine-tests.log
[ "$engine_status" -eq 0 ] || exit "$engine_status"
node --import tsx --test --test-concurrency=1 --test-timeout=300000 --test-force-exit test/integration/*.test.ts test/e2e/*.test.ts
