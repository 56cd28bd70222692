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
                                 [](const std::string& name, Dtype, bool) {
                                   // pe is a float32 buffer (as every module's state), so its values carry float32 rounding.
                                   if (name == "sinusoidal_positional_encoding") return testing::Tolerance{1e-5, 1e-6};
                                   return testing::Tolerance{1e-5, 1e-10};
                                 });
}
