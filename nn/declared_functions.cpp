// The list of nn::functional's composite declarations (see <tapegrad/nn/declared_functions.hpp>).
#include "nn/declarations.hpp"
#include <tapegrad/nn/declared_functions.hpp>

namespace tg::nn::functional {

const std::vector<OpInfo>& declared_functions() {
  static const std::vector<OpInfo> all = [] {
    std::vector<OpInfo> out;
    for (auto&& file : {
             dropout_function_declarations(),
             loss_function_declarations(),
             embedding_function_declarations(),
             normalization_function_declarations(),
         })
      out.insert(out.end(), file.begin(), file.end());
    return out;
  }();
  return all;
}

}  // namespace tg::nn::functional
