#!/bin/bash
# README command two: install what is needed, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
build-aux/build.sh
meson test -C _build --print-errorlogs "$@"
