// Attention layers and containers: MultiheadAttention, TransformerEncoderLayer /
// DecoderLayer and their stacks, scaled_dot_product_attention, positional
// encodings; Identity, ModuleList, ModuleDict. Against PyTorch
// (tests/data/attention_layers_reference.txt, written by
// tests/torch_reference/attention_layers.py): outputs, attention weights, input
// and parameter gradients, in float64 with rtol 1e-5. Then float64 module
// gradchecks, the causal identity, train/eval dropout, parameter names and
// initialisation, summary rows, checkpoint round trips, and errors naming the
// module path and the shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "torch_reference_file.hpp"

using namespace tg;
using namespace tg::nn;
namespace F = tg::nn::functional;
using Catch::Contains;

namespace {

constexpr std::int64_t E = 8, H = 2;

// Points a module's parameter members at a case's inputs (PyTorch's layout and
// named_parameters() order), so that the gradients land on those inputs.
struct Binder {
  const std::vector<Tensor>& in;
  std::size_t i;
  Tensor next() {
    REQUIRE(i < in.size());
    return in[i++];
  }
};

void bind(Linear& m, Binder& b) {
  m.weight = transpose(b.next(), 0, 1);  // PyTorch's [out, in] -> tapegrad's [in, out]
  if (m.bias.defined()) m.bias = b.next();
}
void bind(LayerNorm& m, Binder& b) {
  m.weight = b.next();
  m.bias = b.next();
}
void bind(MultiheadAttention& m, Binder& b) {
  if (m.in_proj_weight.defined()) {
    m.in_proj_weight = b.next();
  } else {
    m.q_proj_weight = b.next();
    m.k_proj_weight = b.next();
    m.v_proj_weight = b.next();
  }
  if (m.in_proj_bias.defined()) m.in_proj_bias = b.next();
  bind(*m.out_proj, b);
}
void bind(TransformerEncoderLayer& m, Binder& b) {
  bind(*m.self_attn, b);
  bind(*m.linear1, b);
  bind(*m.linear2, b);
  bind(*m.norm1, b);
  bind(*m.norm2, b);
}
void bind(TransformerDecoderLayer& m, Binder& b) {
  bind(*m.self_attn, b);
  bind(*m.multihead_attn, b);
  bind(*m.linear1, b);
  bind(*m.linear2, b);
  bind(*m.norm1, b);
  bind(*m.norm2, b);
  bind(*m.norm3, b);
}

// Binds inputs[first..] to the module and checks that every input was used.
template <class M> void bind_all(M& m, const std::vector<Tensor>& in, std::size_t first) {
  Binder b{in, first};
  bind(m, b);
  REQUIRE(b.i == in.size());
}

void expect_gradcheck(const GradcheckResult& r) {
  INFO(r.message);
  CHECK(r.passed);
}

// |a - b| <= tol elementwise, same shape.
bool close_all(const Tensor& a, const Tensor& b, double tol) {
  if (a.shape() != b.shape()) return false;
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= tol)) return false;
  return true;
}

// The int64 (bool) causal mask: 1 (not allowed) above the diagonal.
Tensor bool_causal(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n * n), 0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) v[static_cast<std::size_t>(i * n + j)] = 1;
  return tensor_i64(v, {n, n});
}

Tensor joined(const AttentionOutput& r) { return cat({flatten(r.output), flatten(r.weights)}); }

using Call = std::function<Tensor(const std::vector<Tensor>&)>;

// A MultiheadAttention case: `nd` data and mask inputs, then the parameters.
Call mha_case(std::function<std::shared_ptr<MultiheadAttention>()> make, std::size_t nd,
              std::function<AttentionOutput(MultiheadAttention&, const std::vector<Tensor>&)> call) {
  return [=](const std::vector<Tensor>& in) {
    auto m = make();
    m->eval();
    bind_all(*m, in, nd);
    return joined(call(*m, in));
  };
}

template <class M>
Call layer_case(std::function<std::shared_ptr<M>()> make, std::size_t nd,
                std::function<Tensor(M&, const std::vector<Tensor>&)> call) {
  return [=](const std::vector<Tensor>& in) {
    auto m = make();
    m->eval();
    bind_all(*m, in, nd);
    return call(*m, in);
  };
}

std::shared_ptr<MultiheadAttention> mha(bool batch_first = false) {
  return std::make_shared<MultiheadAttention>(E, H, 0.0, true, batch_first);
}

}  // namespace

TEST_CASE("attention layers agree with PyTorch 1.13 in float64", "[nn][attention]") {
  using EL = TransformerEncoderLayer;
  using DL = TransformerDecoderLayer;
  testing::ReferenceCases cases = {
      {"mha_self", mha_case([] { return mha(); }, 1, [](auto& m, auto& in) { return m(in[0], in[0], in[0]); })},
      {"mha_self_batch_first_per_head",
       mha_case([] { return mha(true); }, 1,
                [](auto& m, auto& in) { return m(in[0], in[0], in[0], Tensor(), true, Tensor(), false); })},
      {"mha_cross_key_is_value", mha_case([] { return mha(); }, 2, [](auto& m, auto& in) { return m(in[0], in[1], in[1]); })},
      {"mha_cross_distinct", mha_case([] { return mha(); }, 3, [](auto& m, auto& in) { return m(in[0], in[1], in[2]); })},
      {"mha_kdim_vdim",
       mha_case([] { return std::make_shared<MultiheadAttention>(E, H, 0.0, true, false, 5, 6); }, 3,
                [](auto& m, auto& in) { return m(in[0], in[1], in[2]); })},
      {"mha_no_bias", mha_case([] { return std::make_shared<MultiheadAttention>(E, H, 0.0, false); }, 2,
                               [](auto& m, auto& in) { return m(in[0], in[1], in[1]); })},
      {"mha_unbatched", mha_case([] { return mha(); }, 2, [](auto& m, auto& in) { return m(in[0], in[1], in[1]); })},
      {"mha_bool_attn_mask_2d", mha_case([] { return mha(); }, 3, [](auto& m, auto& in) {
         return m(in[0], in[1], in[1], Tensor(), true, in[2]);
       })},
      {"mha_float_attn_mask_3d", mha_case([] { return mha(); }, 3, [](auto& m, auto& in) {
         return m(in[0], in[1], in[1], Tensor(), true, in[2]);
       })},
      {"mha_key_padding_mask_bool",
       mha_case([] { return mha(); }, 3, [](auto& m, auto& in) { return m(in[0], in[1], in[1], in[2]); })},
      {"mha_key_padding_mask_float",
       mha_case([] { return mha(); }, 3, [](auto& m, auto& in) { return m(in[0], in[1], in[1], in[2]); })},
      {"mha_bool_attn_mask_and_padding", mha_case([] { return mha(true); }, 4, [](auto& m, auto& in) {
         return m(in[0], in[1], in[1], in[3], true, in[2]);
       })},
      {"mha_float_attn_mask_and_bool_padding", mha_case([] { return mha(); }, 4, [](auto& m, auto& in) {
         return m(in[0], in[1], in[1], in[3], true, in[2]);
       })},
      {"mha_causal", mha_case([] { return mha(); }, 2, [](auto& m, auto& in) {
         return m(in[0], in[0], in[0], Tensor(), true, in[1]);
       })},
      {"sdpa_plain", [](const std::vector<Tensor>& in) { return F::scaled_dot_product_attention(in[0], in[1], in[2]); }},
      {"sdpa_bool_mask_keeps_true",
       [](const std::vector<Tensor>& in) { return F::scaled_dot_product_attention(in[0], in[1], in[2], in[3]); }},
      {"sdpa_causal",
       [](const std::vector<Tensor>& in) {
         return F::scaled_dot_product_attention(in[0], in[1], in[2], Tensor(), 0.0, true);
       }},
      {"sinusoidal_positional_encoding",
       [](const std::vector<Tensor>& in) {
         SinusoidalPositionalEncoding pe(E, 0.0);
         return pe(in[0]);
       }},
      {"encoder_stack_2_final_norm", [](const std::vector<Tensor>& in) {
         TransformerEncoder enc([] { return std::make_shared<EL>(E, H, 16, 0.0); }, 2,
                                std::make_shared<LayerNorm>(std::vector<std::int64_t>{E}));
         enc.eval();
         Binder b{in, 2};
         for (const ModulePtr& layer : *enc.layers) bind(static_cast<EL&>(*layer), b);
         bind(*enc.norm, b);
         REQUIRE(b.i == in.size());
         return enc(in[0], in[1]);
       }}};
  for (bool norm_first : {false, true}) {
    const std::string tag = norm_first ? "pre" : "post";
    cases["encoder_" + tag + "_relu"] = layer_case<EL>(
        [=] { return std::make_shared<EL>(E, H, 16, 0.0, "relu", 1e-5, false, norm_first); }, 1,
        [](EL& m, const std::vector<Tensor>& in) { return m(in[0]); });
    cases["encoder_" + tag + "_gelu_masks_batch_first"] = layer_case<EL>(
        [=] { return std::make_shared<EL>(E, H, 16, 0.0, "gelu", 1e-3, true, norm_first); }, 3,
        [](EL& m, const std::vector<Tensor>& in) { return m(in[0], in[1], in[2]); });
    cases["decoder_" + tag + "_relu"] = layer_case<DL>(
        [=] { return std::make_shared<DL>(E, H, 16, 0.0, "relu", 1e-5, false, norm_first); }, 2,
        [](DL& m, const std::vector<Tensor>& in) { return m(in[0], in[1]); });
    cases["decoder_" + tag + "_gelu_masks_batch_first"] = layer_case<DL>(
        [=] { return std::make_shared<DL>(E, H, 16, 0.0, "gelu", 1e-5, true, norm_first); }, 5,
        [](DL& m, const std::vector<Tensor>& in) { return m(in[0], in[1], in[2], in[3], Tensor(), in[4]); });
  }
  testing::check_against_pytorch("tests/data/attention_layers_reference.txt", cases,
                                 [](const std::string& name, Dtype, const std::string&) {
                                   // pe is a float32 buffer (as every module's state), so its values carry float32 rounding.
                                   if (name == "sinusoidal_positional_encoding") return testing::Tolerance{1e-5, 1e-6};
                                   return testing::Tolerance{1e-5, 1e-10};
                                 });
}

TEST_CASE("attention modules pass float64 module gradchecks", "[nn][attention][gradcheck]") {
  manual_seed(11);
  auto x = randn({3, 2, 4}, kFloat64);
  SECTION("MultiheadAttention (self-attention through the one-tensor call)") {
    MultiheadAttention m(4, 2);
    m.to(kFloat64);
    expect_gradcheck(gradcheck_module(m, x));
  }
  SECTION("MultiheadAttention, cross-attention with both masks and kdim/vdim") {
    MultiheadAttention m(4, 2, 0.0, true, true, 3, 5);
    m.to(kFloat64);
    const Tensor kpm = tensor_i64({0, 0, 1, 0, 1, 0, 0, 0}, {2, 4});
    const Tensor mask = tensor({0, -1, 0.5, 0, 0, 0, -2, 0, 1, 0, 0, 0}, {3, 4}, kFloat64);
    std::vector<Tensor> in = {randn({2, 3, 4}, kFloat64), randn({2, 4, 3}, kFloat64), randn({2, 4, 5}, kFloat64)};
    for (Tensor& t : in) t.requires_grad_();
    std::vector<Tensor> all = in;
    for (const auto& [n, p] : m.named_parameters()) all.push_back(p);
    expect_gradcheck(gradcheck(
        [&](const std::vector<Tensor>& v) {
          auto r = m(v[0], v[1], v[2], kpm, true, mask, false);
          return cat({flatten(r.output), flatten(r.weights)});
        },
        all));
  }
  for (bool norm_first : {false, true}) {
    SECTION(std::string("TransformerEncoderLayer ") + (norm_first ? "pre-norm" : "post-norm")) {
      TransformerEncoderLayer layer(4, 2, 6, 0.1, "gelu", 1e-5, false, norm_first);
      layer.to(kFloat64);
      layer.eval();
      expect_gradcheck(gradcheck_module(layer, x));
    }
  }
  SECTION("TransformerDecoderLayer with a causal target mask") {
    TransformerDecoderLayer layer(4, 2, 6, 0.0, "relu", 1e-5, true, true);
    layer.to(kFloat64);
    std::vector<Tensor> all = {randn({2, 3, 4}, kFloat64).requires_grad_(), randn({2, 2, 4}, kFloat64).requires_grad_()};
    for (const auto& [n, p] : layer.named_parameters()) all.push_back(p);
    const Tensor causal = generate_square_subsequent_mask(3, kFloat64);
    expect_gradcheck(gradcheck([&](const std::vector<Tensor>& v) { return layer(v[0], v[1], causal); }, all));
  }
  SECTION("positional encodings") {
    SinusoidalPositionalEncoding sin_pe(4, 0.0);
    sin_pe.to(kFloat64);
    expect_gradcheck(gradcheck_module(sin_pe, x));
    LearnedPositionalEncoding learned(5, 4, 0.0, true);
    learned.to(kFloat64);
    expect_gradcheck(gradcheck_module(learned, x));
  }
}

TEST_CASE("a causal mask makes position t independent of the inputs after t", "[nn][attention]") {
  manual_seed(5);
  const std::int64_t L = 5;
  TransformerEncoderLayer layer(E, H, 16, 0.0, "relu", 1e-5, true);
  layer.to(kFloat64);
  const Tensor x = randn({2, L, E}, kFloat64);
  const Tensor causal = generate_square_subsequent_mask(L, kFloat64);
  const Tensor y = layer(x, Tensor(), Tensor(), /*is_causal=*/true);
  // is_causal, the float mask and an int64 (bool) mask of the same pattern agree.
  CHECK(close_all(layer(x, causal), y, 1e-12));
  CHECK(close_all(layer(x, bool_causal(L)), y, 1e-12));
  for (std::int64_t t = 0; t + 1 < L; ++t) {
    // Change every input after t: the outputs up to t stay exactly the same...
    const Tensor changed = cat({narrow(x, 1, 0, t + 1), narrow(x, 1, t + 1, L - t - 1) * -3.0 + 1.0}, 1);
    const Tensor y2 = layer(changed, Tensor(), Tensor(), true);
    CHECK(narrow(y2, 1, 0, t + 1).to_vector() == narrow(y, 1, 0, t + 1).to_vector());
    CHECK_FALSE(narrow(y2, 1, t + 1, L - t - 1).to_vector() == narrow(y, 1, t + 1, L - t - 1).to_vector());
    // ... and their gradient with respect to those inputs is zero.
    Tensor xg = x.detach() * 1.0;
    xg.requires_grad_();
    sum(narrow(layer(xg, causal), 1, 0, t + 1)).backward();
    CHECK(max(abs(narrow(xg.grad(), 1, t + 1, L - t - 1))).item<double>() == 0.0);
    CHECK(max(abs(narrow(xg.grad(), 1, 0, t + 1))).item<double>() > 0.0);
  }
}

TEST_CASE("unbatched inputs give the batch-of-one results", "[nn][attention]") {
  manual_seed(8);
  TransformerEncoderLayer enc(E, H, 16, 0.0, "gelu", 1e-5, false, true);
  TransformerDecoderLayer dec(E, H, 16, 0.0);
  const Tensor src = randn({5, E}), mem = randn({4, E}), tgt = randn({3, E});
  const Tensor kpm = tensor_i64({0, 1, 0, 0}, {4});
  const Tensor causal = generate_square_subsequent_mask(3);
  CHECK(close_all(enc(src, generate_square_subsequent_mask(5)),
                  squeeze(enc(unsqueeze(src, 1), generate_square_subsequent_mask(5)), 1), 1e-6));
  CHECK(close_all(dec(tgt, mem, causal, Tensor(), Tensor(), kpm),
                  squeeze(dec(unsqueeze(tgt, 1), unsqueeze(mem, 1), causal, Tensor(), Tensor(), unsqueeze(kpm, 0)), 1),
                  1e-6));
  SinusoidalPositionalEncoding pe(E, 0.0);
  CHECK(close_all(pe(src), squeeze(pe(unsqueeze(src, 1)), 1), 0.0));
}

TEST_CASE("attention dropout: random in training mode, off in eval mode", "[nn][attention]") {
  manual_seed(2);
  MultiheadAttention m(E, H, 0.5);
  const Tensor x = randn({4, 3, E});
  m.eval();
  const AttentionOutput a = m(x, x, x), b = m(x, x, x);
  CHECK(a.output.to_vector() == b.output.to_vector());
  // Eval: each row of the averaged weights is a distribution.
  for (double s : sum(a.weights, {-1}).to_vector<double>()) CHECK(s == Approx(1.0).margin(1e-6));
  m.train();
  const AttentionOutput t1 = m(x, x, x, Tensor(), true, Tensor(), false), t2 = m(x, x, x);
  CHECK_FALSE(t1.output.to_vector() == t2.output.to_vector());
  // Training: the returned per-head weights are after dropout (as PyTorch 1.13): 0 or 2x an eval weight.
  m.eval();
  const std::vector<double> kept = m(x, x, x, Tensor(), true, Tensor(), false).weights.to_vector<double>();
  const std::vector<double> dropped = t1.weights.to_vector<double>();
  REQUIRE(kept.size() == dropped.size());
  int zeros = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (dropped[i] == 0.0)
      ++zeros;
    else
      CHECK(dropped[i] == Approx(2 * kept[i]).epsilon(1e-5));
  }
  CHECK(zeros > 0);
  CHECK(zeros < static_cast<int>(kept.size()));

  TransformerEncoderLayer layer(E, H, 16);  // dropout 0.1 everywhere
  CHECK(layer(x).to_vector() != layer(x).to_vector());
  layer.eval();
  CHECK(layer(x).to_vector() == layer(x).to_vector());
  SinusoidalPositionalEncoding pe(E);  // dropout 0.1
  pe.eval();
  CHECK(pe(x).to_vector() == pe(x).to_vector());
}

TEST_CASE("attention modules: PyTorch's parameter names, shapes and initialisation", "[nn][attention]") {
  manual_seed(1);
  MultiheadAttention m(E, H);
  std::vector<std::string> names;
  for (const auto& [n, p] : m.named_parameters()) names.push_back(n + p.shape().str());
  CHECK(names == std::vector<std::string>{"in_proj_weight[24,8]", "in_proj_bias[24]", "out_proj.weight[8,8]",
                                          "out_proj.bias[8]"});
  // xavier_uniform_ on [3E, E]: U(-b, b), b = sqrt(6 / (E + 3E)); zero biases.
  const double bound = std::sqrt(6.0 / (E + 3 * E));
  CHECK(max(abs(m.in_proj_weight)).item<double>() <= bound);
  CHECK(max(abs(m.in_proj_weight)).item<double>() > 0.8 * bound);
  CHECK(max(abs(m.in_proj_bias)).item<double>() == 0.0);
  CHECK(max(abs(m.out_proj->bias)).item<double>() == 0.0);
  CHECK(m.head_dim() == 4);

  MultiheadAttention kv(E, H, 0.0, false, false, 5, 6);
  names.clear();
  for (const auto& [n, p] : kv.named_parameters()) names.push_back(n + p.shape().str());
  CHECK(names == std::vector<std::string>{"q_proj_weight[8,8]", "k_proj_weight[8,5]", "v_proj_weight[8,6]",
                                          "out_proj.weight[8,8]"});

  TransformerDecoderLayer dec(E, H, 16);
  names.clear();
  for (const auto& [n, child] : dec.named_children()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"self_attn", "multihead_attn", "linear1", "dropout", "linear2", "norm1",
                                          "norm2", "norm3", "dropout1", "dropout2", "dropout3"});
  TransformerEncoder enc([] { return std::make_shared<TransformerEncoderLayer>(E, H, 16); }, 2,
                         std::make_shared<LayerNorm>(std::vector<std::int64_t>{E}));
  names.clear();
  for (const auto& [n, p] : enc.named_parameters()) names.push_back(n);
  REQUIRE(names.size() == 2 * 12 + 2);
  CHECK(names[0] == "layers.0.self_attn.in_proj_weight");
  CHECK(names[11] == "layers.0.norm2.bias");
  CHECK(names[12] == "layers.1.self_attn.in_proj_weight");
  CHECK(names[25] == "norm.bias");

  SinusoidalPositionalEncoding pe(6, 0.1, 50);
  CHECK(pe.named_parameters().empty());
  REQUIRE(pe.named_buffers().size() == 1);
  CHECK(pe.named_buffers()[0].first == "pe");
  CHECK(pe.pe.shape() == Shape({50, 6}));
  const std::vector<double> v = pe.pe.to_vector<double>();
  for (int pos : {0, 1, 7, 49}) {
    CHECK(v[pos * 6 + 0] == Approx(std::sin(pos)).margin(1e-6));
    CHECK(v[pos * 6 + 1] == Approx(std::cos(pos)).margin(1e-6));
    CHECK(v[pos * 6 + 4] == Approx(std::sin(pos / std::pow(10000.0, 4.0 / 6))).margin(1e-6));
    CHECK(v[pos * 6 + 5] == Approx(std::cos(pos / std::pow(10000.0, 4.0 / 6))).margin(1e-6));
  }
  LearnedPositionalEncoding learned(50, 6);
  REQUIRE(learned.named_parameters().size() == 1);
  CHECK(learned.named_parameters()[0].first == "embedding.weight");
  // Unbatched and batch-first inputs get the rows of their positions.
  learned.eval();
  const Tensor z = zeros({3, 6});
  CHECK(learned(z).to_vector() == narrow(learned.embedding->weight, 0, 0, 3).to_vector());
}

TEST_CASE("attention modules in nn::summary and checkpoints", "[nn][attention]") {
  manual_seed(4);
  TransformerEncoderLayer layer(E, H, 16);
  const ModelSummary s = summary(layer, {5, 2, E});
  std::vector<std::string> rows;
  for (const SummaryRow& r : s.rows) rows.push_back(r.path + " " + r.type + " " + std::to_string(r.parameters));
  CHECK(rows == std::vector<std::string>{"self_attn.out_proj Linear 72", "self_attn MultiheadAttention 216",
                                         "dropout1 Dropout 0", "norm1 LayerNorm 16", "linear1 Linear 144",
                                         "dropout Dropout 0", "linear2 Linear 136", "dropout2 Dropout 0",
                                         "norm2 LayerNorm 16"});
  CHECK(s.output_shape == Shape({5, 2, E}));
  CHECK(s.total_parameters == 216 + 72 + 144 + 136 + 32);

  auto make = [] {
    auto model = std::make_shared<Sequential>(std::make_shared<LearnedPositionalEncoding>(10, E, 0.0, true));
    model->add(std::make_shared<TransformerEncoder>(
        [] { return std::make_shared<TransformerEncoderLayer>(E, H, 16, 0.0, "gelu", 1e-5, true, true); }, 2,
        std::make_shared<LayerNorm>(std::vector<std::int64_t>{E})));
    model->add(std::make_shared<SinusoidalPositionalEncoding>(E, 0.0, 20, true));
    return model;
  };
  auto trained = make();
  const Tensor x = randn({2, 4, E});
  const std::vector<double> expected = (*trained)(x).to_vector();
  testing::TempDir dir;
  save(*trained, dir.file("t.tgck"));
  auto loaded = make();
  CHECK((*loaded)(x).to_vector() != expected);
  load(*loaded, dir.file("t.tgck"));
  CHECK((*loaded)(x).to_vector() == expected);

  io::save_safetensors(*trained, dir.file("t.safetensors"));
  auto from_safetensors = make();
  const io::LoadReport report = io::load_safetensors(*from_safetensors, dir.file("t.safetensors"));
  CHECK(report.missing.empty());
  CHECK(report.unexpected.empty());
  CHECK((*from_safetensors)(x).to_vector() == expected);

  // The file holds PyTorch's layouts: the raw in_proj_weight as it is, the
  // out_proj Linear's weight transposed to [out, in], the pe buffer.
  const io::SafetensorsFile file = io::read_safetensors(dir.file("t.safetensors"));
  auto& enc = *trained->at<TransformerEncoder>(1);
  auto& attn = *enc.layers->at<TransformerEncoderLayer>(1)->self_attn;
  CHECK(file.at("1.layers.1.self_attn.in_proj_weight").to_vector() == attn.in_proj_weight.to_vector());
  CHECK(file.at("1.layers.1.self_attn.out_proj.weight").to_vector() ==
        transpose(attn.out_proj->weight, 0, 1).to_vector());
  CHECK(file.at("1.layers.1.linear1.weight").shape() == Shape({16, E}));
  CHECK(file.at("2.pe").shape() == Shape({20, E}));
  CHECK(file.at("0.embedding.weight").shape() == Shape({10, E}));
}

TEST_CASE("Identity, ModuleList and ModuleDict", "[nn][containers]") {
  manual_seed(3);
  const Tensor x = randn({2, 4});
  CHECK(Identity()(x).is_same(x));

  struct Net : Module {
    std::shared_ptr<ModuleList> blocks;
    std::shared_ptr<ModuleDict> heads;
    Net() {
      blocks = register_module("blocks", std::make_shared<ModuleList>());
      blocks->push_back(std::make_shared<Linear>(4, 4)).append(std::make_shared<ReLU>());
      blocks->append(std::make_shared<Linear>(4, 4));
      heads = register_module("heads", std::make_shared<ModuleDict>());
      heads->insert("reg", std::make_shared<Linear>(4, 1)).insert("cls", std::make_shared<Linear>(4, 3));
    }
    Tensor forward(const Tensor& input) override {
      Tensor h = input;
      for (const ModulePtr& b : *blocks) h = (*b)(h);
      return (*(*heads)["cls"])(h);
    }
  } net;
  CHECK(net.blocks->size() == 3);
  CHECK(net.blocks->at<ReLU>(1) != nullptr);
  CHECK(net.heads->keys() == std::vector<std::string>{"reg", "cls"});
  CHECK(net.heads->contains("cls"));
  CHECK_FALSE(net.heads->contains("x"));
  std::vector<std::string> names;
  for (const auto& [n, p] : net.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"blocks.0.weight", "blocks.0.bias", "blocks.2.weight", "blocks.2.bias",
                                          "heads.reg.weight", "heads.reg.bias", "heads.cls.weight", "heads.cls.bias"});
  std::vector<std::string> keys;
  for (const auto& [k, m] : *net.heads) keys.push_back(k + ":" + m->type_name());
  CHECK(keys == std::vector<std::string>{"reg:Linear", "cls:Linear"});
  CHECK(net(x).shape() == Shape({2, 3}));

  const ModelSummary s = summary(net, {2, 4});
  std::vector<std::string> rows;
  for (const SummaryRow& r : s.rows) rows.push_back(r.path + " " + r.type);
  CHECK(rows == std::vector<std::string>{"blocks.0 Linear", "blocks.1 ReLU", "blocks.2 Linear", "heads.cls Linear"});

  // Checkpoints hold the containers' names; a fresh model loads them back.
  {
    testing::TempDir dir;
    save(net, dir.file("net.tgck"));
    io::save_safetensors(net, dir.file("net.safetensors"));
    Net fresh, from_safetensors;
    CHECK(fresh(x).to_vector() != net(x).to_vector());
    load(fresh, dir.file("net.tgck"));
    CHECK(fresh(x).to_vector() == net(x).to_vector());
    CHECK(io::load_safetensors(from_safetensors, dir.file("net.safetensors")).complete());
    CHECK(from_safetensors(x).to_vector() == net(x).to_vector());
    const io::SafetensorsFile file = io::read_safetensors(dir.file("net.safetensors"));
    CHECK(file.at("heads.cls.weight").shape() == Shape({3, 4}));  // PyTorch's [out, in]
    CHECK(file.at("blocks.2.bias").shape() == Shape({4}));
  }

  ModuleList list{std::make_shared<Identity>(), std::make_shared<Tanh>()};
  CHECK(list.size() == 2);
  CHECK_THROWS_WITH(list[2], Contains("ModuleList[2]") && Contains("out of range") && Contains("2 modules"));
  CHECK_THROWS_WITH(list.at<Linear>(1), Contains("Tanh"));
  CHECK_THROWS_WITH(list.push_back(nullptr), Contains("null"));
  CHECK_THROWS_WITH(list(x), Contains("ModuleList has no forward()"));
  CHECK_THROWS_WITH((*net.heads)["box"], Contains("\"box\"") && Contains("{reg, cls}"));
  CHECK_THROWS_WITH(net.heads->insert("cls", std::make_shared<ReLU>()), Contains("already used"));
  CHECK_THROWS_WITH(net.heads->insert("a.b", std::make_shared<ReLU>()), Contains("'.'"));
  CHECK_THROWS_WITH(net.heads->at<ReLU>("reg"), Contains("Linear"));
  CHECK_THROWS_WITH((*net.heads)(x), Contains("ModuleDict has no forward()"));
}

TEST_CASE("attention errors name the module path and the shapes", "[nn][attention][errors]") {
  MultiheadAttention m(E, H);
  const Tensor x = ones({3, 2, E});
  CHECK_THROWS_WITH(m(ones({3, 2, 6}), x, x), Contains("MultiheadAttention(E=8, heads=2)") &&
                                                  Contains("query has 6 features, expected embed_dim=8") &&
                                                  Contains("[3,2,6]"));
  CHECK_THROWS_WITH(m(x, ones({4, 2, 5}), ones({4, 2, 5})), Contains("key has 5 features, expected kdim=8"));
  CHECK_THROWS_WITH(m(x, ones({4, 2, E}), ones({5, 2, E})), Contains("same length S") && Contains("[5,2,8]"));
  CHECK_THROWS_WITH(m(x, ones({4, 3, E}), ones({4, 3, E})), Contains("same batch size N"));
  CHECK_THROWS_WITH(m(ones({2, 3, 2, E}), x, x), Contains("[L, N, E]") && Contains("[2,3,2,8]"));
  CHECK_THROWS_WITH(m(x, x, x, Tensor(), true, ones({3, 4})),
                    Contains("attn_mask must be [L, S] = [3,3] or [N * num_heads, L, S] = [4,3,3]") &&
                        Contains("attn_mask [3,4]"));
  CHECK_THROWS_WITH(m(x, x, x, Tensor(), true, ones({2, 3, 3})), Contains("attn_mask [2,3,3]"));
  CHECK_THROWS_WITH(m(x, x, x, ones({3, 2})), Contains("key_padding_mask must be [N, S] = [2,3]") &&
                                                  Contains("key_padding_mask [3,2]"));
  CHECK_THROWS_WITH(MultiheadAttention(10, 3), Contains("divisible by num_heads") && Contains("embed_dim=10") &&
                                                   Contains("num_heads=3"));
  CHECK_THROWS_WITH(MultiheadAttention(8, 2, 1.5), Contains("dropout"));
  CHECK_THROWS_WITH(TransformerEncoderLayer(8, 2, 16, 0.1, "tanh"), Contains("activation") && Contains("tanh"));

  // The path of a layer inside a stack: the stack, the ModuleList index and the submodule.
  TransformerEncoder enc([] { return std::make_shared<TransformerEncoderLayer>(E, H, 16); }, 2);
  CHECK_THROWS_WITH(enc(x, ones({5, 5})), Contains("TransformerEncoder.layers[0].self_attn") &&
                                              Contains("attn_mask [5,5]"));
  CHECK_THROWS_WITH(enc(ones({3, 2, 4})), Contains("TransformerEncoder.layers[0]") && Contains("[3,2,4]"));
  TransformerDecoderLayer dec(E, H, 16);
  CHECK_THROWS_WITH(dec(x, ones({4, 2, 6})), Contains("TransformerDecoderLayer.multihead_attn") &&
                                                 Contains("key has 6 features") && Contains("[4,2,6]"));

  SinusoidalPositionalEncoding pe(E, 0.1, 4);
  CHECK_THROWS_WITH(pe(ones({5, 2, E})), Contains("SinusoidalPositionalEncoding") && Contains("5 positions") &&
                                             Contains("max_len=4") && Contains("[5,2,8]"));
  CHECK_THROWS_WITH(pe(ones({3, 2, 6})), Contains("expected d_model=8") && Contains("[3,2,6]"));
  CHECK_THROWS_WITH(F::scaled_dot_product_attention(ones({2, 3, 4}), ones({2, 5, 3}), ones({2, 5, 4})),
                    Contains("scaled_dot_product_attention") && Contains("key [2,5,3]"));
  CHECK_THROWS_WITH(F::scaled_dot_product_attention(ones({2, 3, 4}), ones({2, 5, 4}), ones({2, 5, 4}), ones({3, 4})),
                    Contains("attn_mask [3,4]") && Contains("[2,3,5]"));
  CHECK_THROWS_WITH(generate_square_subsequent_mask(3, kInt64), Contains("floating"));
}
