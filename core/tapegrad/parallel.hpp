// tapegrad — the one thread knob.
#pragma once

namespace tg {

/// Threads for tapegrad's parallel loops — conv2d and pooling over the batch,
/// large matrix products split by rows. OpenBLAS itself is kept at one thread
/// so the two never oversubscribe the cores. Default: the number of hardware
/// threads (or TAPEGRAD_NUM_THREADS from the environment).
void set_num_threads(int n);
int get_num_threads();

}  // namespace tg
