#!/usr/bin/env bash
# Builds the API documentation with Doxygen into build/docs/html. Fails if
# Doxygen reports an undocumented public symbol or a documentation error.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh doxygen
mkdir -p build/docs
doxygen docs/Doxyfile
if [ -s build/docs/warnings.log ]; then
  cat build/docs/warnings.log
  echo "docs: $(wc -l < build/docs/warnings.log) warning(s)" >&2
  exit 1
fi
echo "docs: build/docs/html/index.html"
