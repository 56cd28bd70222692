// tapegrad — the one thread knob.
#pragma once

namespace tg {

/// Threads for tapegrad's own parallel loops and for OpenBLAS together, so the
/// two never oversubscribe the cores. Default: the number of hardware threads
/// (or TAPEGRAD_NUM_THREADS from the environment).
void set_num_threads(int n);
int get_num_threads();

}  // namespace tg
