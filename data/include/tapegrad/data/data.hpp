// tapegrad — data loading, one include (namespace tg::data).
//
//   <tapegrad/data/idx.hpp>      read_idx: IDX files (MNIST's format), plain or gzip
//   <tapegrad/data/mnist.hpp>    load_mnist / load_fashion_mnist, find_data_dir, --data-dir
//   <tapegrad/data/dataset.hpp>  Dataset (random access), TensorDataset, Subset,
//                                random_split, ConcatDataset, filter_labels, take,
//                                label -> target maps
//   <tapegrad/data/batches.hpp>  BatchLoader: seeded, per-epoch shuffled minibatches
//                                of tensors; epoch_order, tapegrad's one shuffle
//   <tapegrad/data/loader.hpp>   DataLoader: batches of any Dataset, made ahead by
//                                worker threads, the same whatever their number
//   <tapegrad/data/transforms.hpp> image transforms for augmentation, seeded per example
//   <tapegrad/data/csv.hpp>      read_csv: tabular data (plain or gzip) as features and targets
//   <tapegrad/data/image.hpp>    read_image: PNG, JPEG, BMP, ... as int64 [C,H,W] pixels (stb_image)
//   <tapegrad/data/image_folder.hpp> ImageFolder: one sub-folder of pictures per class
//   <tapegrad/data/text.hpp>     fortune files as a text corpus, CharVocabulary, text_windows
#pragma once

/// @namespace tg::data
/// Data sets and loading: IDX files, MNIST / Fashion-MNIST, CSV tables, picture
/// files and folders of them (ImageFolder), text corpora, the Dataset interface and its
/// combinators, label helpers, image transforms, seeded minibatches and the
/// threaded DataLoader.

#include <tapegrad/data/batches.hpp>
#include <tapegrad/data/csv.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/image.hpp>
#include <tapegrad/data/image_folder.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/data/mnist.hpp>
#include <tapegrad/data/text.hpp>
#include <tapegrad/data/transforms.hpp>
