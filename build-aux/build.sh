#!/bin/bash
# Configures (once) and builds cardpin in _build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f _build/build.ninja ]; then
  meson setup _build -Dwerror=true
fi
meson compile -C _build
