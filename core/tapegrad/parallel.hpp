// tapegrad — the one thread knob.
#pragma once

namespace tg {

/// Threads for tapegrad's own parallel loops and for OpenBLAS together, so the
/// two never oversubscribe the cores. Default: the number of hardware threads
/// (or TAPEGRAD_NUM_THREADS from the environment). Values below 1 mean 1.
void set_num_threads(int n);
/// The thread count now in use (see set_num_threads).
int get_num_threads();

}  // namespace tg
