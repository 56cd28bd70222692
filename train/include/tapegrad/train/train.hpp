// tapegrad — training in one include: the fit() loop, checkpoints, and the
// utilities a training program wants around them (progress display, metrics
// and history files, a metrics logger, atomic file replacement).
#pragma once

/// @namespace tg::train
/// Utilities for training programs: a terminal progress display, metrics JSON
/// and history CSV files, a logger of per-epoch or per-step metrics (CSV and
/// JSON lines), and the atomic file writer that checkpoints use too.

#include <tapegrad/train/atomic_file.hpp>
#include <tapegrad/train/fit.hpp>
#include <tapegrad/train/metrics.hpp>
#include <tapegrad/train/metrics_logger.hpp>
#include <tapegrad/train/progress.hpp>
#include <tapegrad/train/serialize.hpp>
