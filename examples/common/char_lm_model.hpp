// The char_lm trainer's network, data split and training step (examples/char_lm.cpp),
// shared with the side-by-side benchmark (bench/tg_bench.cpp), which times steps
// of exactly this recipe against its PyTorch twin (bench/char_lm_torch.py).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace tg::examples {

/// The trainer's defaults (its flags start at these).
struct CharLmDefaults {
  static constexpr std::int64_t batch_size = 32, seq_len = 64, warmup = 100;
  static constexpr double dropout = 0.0, clip = 1.0;
};

/// The network: next-symbol logits [B, T, V] from symbols [B, T].
///   "lstm":        Embedding(V,64) - LSTM(64->256, 2 layers, batch first) - Linear(256->V)
///   "transformer": Embedding(V,128) + learned positions - 4 pre-norm causal
///                  TransformerEncoderLayers (4 heads, ff 512, GELU) - LayerNorm - Linear(128->V)
/// The vocabulary's symbols are a buffer, so a checkpoint can sample on its own.
struct CharModel : nn::Module {
  std::string kind;
  std::int64_t context = 0;  ///< the longest input the model was built for (positions)
  Tensor vocabulary;         ///< the symbols' bytes, [V] int64
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LSTM> lstm;                                 ///< "lstm" only
  std::shared_ptr<nn::LearnedPositionalEncoding> positions;       ///< "transformer" only
  std::shared_ptr<nn::TransformerEncoder> encoder;                ///< "transformer" only
  std::shared_ptr<nn::LayerNorm> norm;                            ///< "transformer" only
  std::shared_ptr<nn::Linear> head;

  /// `model` is "lstm" or "transformer"; `seq_len` the longest window (positions);
  /// `dropout` between the LSTM's layers / in the Transformer.
  CharModel(const std::string& model, const data::CharVocabulary& vocab, std::int64_t seq_len, double dropout);
  Tensor forward(const Tensor& ids) override;
  /// The vocabulary the model was built with (from its buffer).
  data::CharVocabulary vocab() const;
};

/// The peak learning rate without --lr: 4e-3 for the LSTM (ahead of 2e-3 at every
/// validation in the same budget), 2e-3 for the Transformer.
double char_lm_default_lr(const std::string& kind);

/// The learning rate of step `step` (0-based): a linear warm-up over `warmup`
/// steps, then a cosine from `peak` to 5 % of it over the time budget
/// (`progress` = the fraction of the budget used, in [0, 1]).
double char_lm_learning_rate(double peak, std::int64_t step, std::int64_t warmup, double progress);

/// The fortunes corpus split by quotation: every tenth held out for validation,
/// each quotation followed by a newline.
struct FortunesSplit {
  std::string train_text, val_text;
};
FortunesSplit split_fortunes(const std::vector<std::string>& entries);

/// One training step: logits, mean cross-entropy over every position, backward,
/// gradient norm clipped at `clip` (0: none), optimizer step. Throws
/// std::runtime_error naming `step` when the loss is not finite (before backward).
struct CharStep {
  Tensor logits;  ///< detached, [B, T, V]
  double nats = 0;
};
CharStep char_lm_step(CharModel& model, optim::Optimizer& optimizer, const data::Batch& batch, double clip,
                      std::int64_t step);

}  // namespace tg::examples
