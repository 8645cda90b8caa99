#!/usr/bin/env bash
# The test command: sets up (idempotent), then runs the unit tests and the tfjs-core conformance suite
# against the native torch backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
node --test --test-concurrency=1 $(find dist/test -name "*.test.js" | sort)
npm run --silent test:conformance
