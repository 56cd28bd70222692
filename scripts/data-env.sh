# Sourced by scripts/test.sh and scripts/demo.sh from the repository's root:
# unless $TAPEGRAD_DATA is already set, points it at the MNIST copy laid beside
# the repository (../shared/data/mnist, where CI puts it). The library itself
# looks only in documented places (data/include/tapegrad/data/mnist.hpp).
if [ -z "${TAPEGRAD_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
  TAPEGRAD_DATA="$(cd ../shared/data/mnist && pwd)"
  export TAPEGRAD_DATA
fi
