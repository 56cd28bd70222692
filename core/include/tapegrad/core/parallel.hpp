// tapegrad — the one thread knob.
#pragma once

namespace tg {

/// Threads for tapegrad's parallel loops — conv2d and pooling over the batch,
/// large matrix products split by rows. OpenBLAS itself is kept at one thread
/// so the two never oversubscribe the cores. Default: the number of hardware
/// threads (or TAPEGRAD_NUM_THREADS from the environment). Values below 1 mean 1.
void set_num_threads(int n);
/// The thread count now in use (see set_num_threads).
int get_num_threads();

}  // namespace tg
