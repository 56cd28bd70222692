#!/usr/bin/env bash
# A LeNet-5 trained by tapegrad, saved as safetensors and loaded by PyTorch's
# load_state_dict (strict), gives tapegrad's logits within 1e-5
# (tests/torch_reference/safetensors_roundtrip.py check). Exits 77 (skipped)
# when /usr/bin/python3 cannot import torch (Debian: apt-get install python3-torch).
# Usage: torch_roundtrip_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
python=${TAPEGRAD_TORCH_PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch" 2> /dev/null; then
  echo "PyTorch not importable by $python (apt-get install python3-torch): skipped"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/lenet5_to_safetensors" "$source/tests/data/lenet5_torch_logits.safetensors" "$work"
"$python" "$source/tests/torch_reference/safetensors_roundtrip.py" check \
  "$work/lenet5_tapegrad.safetensors" "$work/lenet5_tapegrad_logits.safetensors"
