#!/usr/bin/env bash
# Installs what cogcast needs on this machine, idempotently: node packages, ffmpeg, the engine's Python venv.
# Run by `npm start` and `npm test` before anything else; each step is skipped when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'cogcast setup: %s\n' "$*" >&2; }
hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

# 1. Node packages, reinstalled when package-lock.json changes.
lock_hash=$(hash_of package.json package-lock.json)
if [ ! -f node_modules/.cogcast-stamp ] || [ "$(cat node_modules/.cogcast-stamp)" != "$lock_hash" ]; then
  say "installing node packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.cogcast-stamp
fi

# 2. ffmpeg from the system (Debian's package), installed when missing and we are allowed to.
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ffmpeg (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
  else
    say "ffmpeg is missing: install it (Debian/Ubuntu: sudo apt-get install ffmpeg) and run again"
    exit 1
  fi
fi

# 2b. redis-server (Debian's package) for the local Redis `npm start` runs when REDIS_URL is unset and nothing
#     answers at the default address. Not fatal when missing: REDIS_URL may name a Redis elsewhere.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing redis-server (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; } \
      || say "redis-server could not be installed; set REDIS_URL to a Redis, or install it (sudo apt-get install redis-server)"
  else
    say "redis-server is missing: npm start needs it unless REDIS_URL names a Redis (Debian/Ubuntu: sudo apt-get install redis-server)"
  fi
fi

# 3. The engine's Python environment, rebuilt when requirements.txt changes.
#    COGCAST_SKIP_PYTHON=1 skips it where the engine runs elsewhere (a bot-only host).
if [ "${COGCAST_SKIP_PYTHON:-0}" != 1 ]; then
  req=worker/engine/requirements.txt
  py_hash=$(hash_of "$req")
  if [ ! -x .venv/bin/python ] || [ ! -f .venv/.cogcast-stamp ] || [ "$(cat .venv/.cogcast-stamp)" != "$py_hash" ]; then
    say "building the engine's Python environment in .venv (torch, diffusers, transformers)"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req" pytest
    echo "$py_hash" > .venv/.cogcast-stamp
  fi
fi
