#include "common/char_lm_model.hpp"

#include <cmath>
#include <stdexcept>

namespace tg::examples {

CharModel::CharModel(const std::string& model, const data::CharVocabulary& vocab, std::int64_t seq_len, double dropout)
    : kind(model), context(seq_len) {
  const std::int64_t v = vocab.size();
  std::vector<std::int64_t> symbols;
  for (unsigned char c : vocab.symbols()) symbols.push_back(c);
  vocabulary = register_buffer("vocabulary", tensor_i64(symbols, {v}));
  if (model == "lstm") {
    embed = register_module("embed", std::make_shared<nn::Embedding>(v, 64));
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(
                                       64, 256, nn::RecurrentOptions().num_layers(2).batch_first(true).dropout(dropout)));
    head = register_module("head", std::make_shared<nn::Linear>(256, v));
  } else if (model == "transformer") {
    const std::int64_t d = 128;
    embed = register_module("embed", std::make_shared<nn::Embedding>(v, d));
    positions = register_module("positions", std::make_shared<nn::LearnedPositionalEncoding>(seq_len, d, dropout, true));
    encoder = register_module("encoder", std::make_shared<nn::TransformerEncoder>(
                                             [&] {
                                               return std::make_shared<nn::TransformerEncoderLayer>(
                                                   d, 4, 4 * d, dropout, "gelu", 1e-5, /*batch_first*/ true,
                                                   /*norm_first*/ true);
                                             },
                                             4));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(std::vector<std::int64_t>{d}));
    head = register_module("head", std::make_shared<nn::Linear>(d, v));
  } else {
    throw std::invalid_argument("CharModel: expected model \"lstm\" or \"transformer\", got \"" + model + "\"");
  }
}

Tensor CharModel::forward(const Tensor& ids) {
  Tensor x = (*embed)(ids);
  if (lstm) return (*head)((*lstm)(x));
  x = (*positions)(x);
  x = (*encoder)(x, Tensor(), Tensor(), /*is_causal*/ true);
  return (*head)((*norm)(x));
}

data::CharVocabulary CharModel::vocab() const {
  std::string s;
  for (std::int64_t c : vocabulary.to_vector<std::int64_t>()) s.push_back(static_cast<char>(c));
  return data::CharVocabulary(s);
}

double char_lm_default_lr(const std::string& kind) { return kind == "lstm" ? 4e-3 : 2e-3; }

double char_lm_learning_rate(double peak, std::int64_t step, std::int64_t warmup, double progress) {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  return peak * (0.05 + 0.95 * 0.5 * (1 + std::cos(3.14159265358979 * progress)));
}

FortunesSplit split_fortunes(const std::vector<std::string>& entries) {
  FortunesSplit split;
  for (std::size_t i = 0; i < entries.size(); ++i) (i % 10 == 0 ? split.val_text : split.train_text) += entries[i] + "\n";
  return split;
}

CharStep char_lm_step(CharModel& model, optim::Optimizer& optimizer, const data::Batch& batch, double clip,
                      std::int64_t step) {
  optimizer.zero_grad();
  const Tensor logits = model(batch.inputs);
  const std::int64_t v = logits.size(-1);
  const Tensor loss = nn::functional::cross_entropy(reshape(logits, {-1, v}), reshape(batch.targets, {-1}));
  const double nats = loss.item<double>();
  if (!std::isfinite(nats))
    throw std::runtime_error("char_lm: the loss is " + std::to_string(nats) + " at step " + std::to_string(step));
  loss.backward();
  if (clip > 0) optim::clip_grad_norm(model.parameters(), clip);
  optimizer.step();
  return {logits.detach(), nats};
}

}  // namespace tg::examples
