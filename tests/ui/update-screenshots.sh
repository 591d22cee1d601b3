#!/bin/bash
# Runs the UI tests and copies the screenshots they take of every page into
# data/screenshots/ (shown in the README and the AppStream metainfo).
#   tests/ui/update-screenshots.sh [BUILDDIR]     (default: _build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-_build}"
rm -rf "$build/tests/ui/screenshots"
meson test -C "$build" --suite ui --no-rebuild --print-errorlogs
mkdir -p data/screenshots
cp "$build"/tests/ui/screenshots/*.png data/screenshots/
ls -l data/screenshots
