// tapegrad — data loading, one include (namespace tg::data).
//
//   <tapegrad/data/idx.hpp>      read_idx: IDX files (MNIST's format), plain or gzip
//   <tapegrad/data/mnist.hpp>    load_mnist / load_fashion_mnist, find_data_dir, --data-dir
//   <tapegrad/data/dataset.hpp>  Dataset, filter_labels, take, label -> target maps
//   <tapegrad/data/batches.hpp>  BatchLoader: seeded, per-epoch shuffled minibatches
//   <tapegrad/data/csv.hpp>      read_csv: tabular data (plain or gzip) as features and targets
#pragma once

/// @namespace tg::data
/// Data sets as tensors: IDX files, MNIST / Fashion-MNIST, CSV tables, label
/// helpers and seeded minibatches.

#include <tapegrad/data/batches.hpp>
#include <tapegrad/data/csv.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/mnist.hpp>
#include <tapegrad/data/transforms.hpp>
