// tapegrad — data loading, one include (namespace tg::data).
//
//   <tapegrad/idx.hpp>      read_idx: IDX files (MNIST's format), plain or gzip
//   <tapegrad/mnist.hpp>    load_mnist / load_fashion_mnist, find_data_dir, --data-dir
//   <tapegrad/dataset.hpp>  Dataset, filter_labels, take, label -> target maps
//   <tapegrad/batches.hpp>  BatchLoader: seeded, per-epoch shuffled minibatches
#pragma once

/// @namespace tg::data
/// Data sets as tensors: IDX files, MNIST / Fashion-MNIST, label helpers and
/// seeded minibatches.

#include <tapegrad/batches.hpp>
#include <tapegrad/dataset.hpp>
#include <tapegrad/idx.hpp>
#include <tapegrad/mnist.hpp>
