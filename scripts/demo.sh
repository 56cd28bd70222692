#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs the
# main example trainer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/examples/two_circles "$@"
