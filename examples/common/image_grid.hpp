// Feature maps and input images as one labelled PNG grid (stb_image_write).
//
// Each map is min-max normalised on its own (a constant map is drawn as its
// minimum) and upscaled with nearest neighbour by an integer factor so that
// 7x7 pooling outputs are as visible as 28x28 inputs. Default colours follow
// matplotlib's `cmap=gray_r`: large values dark on a white page.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tg {
class Tensor;
}

namespace tg::examples {

/// One 2-D map: `values` row-major, height x width, drawn under `label`.
struct GridMap {
  std::string label;
  int height = 0, width = 0;
  std::vector<float> values;
};

struct ImageGridOptions {
  std::string title;          ///< drawn across the top when not empty
  int columns = 0;            ///< maps per row; 0 = min(count, 8)
  int min_cell_pixels = 140;  ///< upscale until the longer side reaches this
  bool large_is_dark = true;  ///< like matplotlib's gray_r; false: large values light
  /// The values drawn white..black (clipped to it) in every map, e.g. {0, 1} for
  /// pixels; unset: each map's own min..max (feature maps of any scale).
  std::optional<std::pair<float, float>> value_range;
};

/// Where everything goes: computed from the map count, map size and options.
struct ImageGridLayout {
  int columns = 0, rows = 0;
  int scale = 1;                      ///< pixels per map element, per side
  int cell_width = 0, cell_height = 0;  ///< one upscaled map
  int width = 0, height = 0;          ///< the whole PNG
  int top = 0;                        ///< height of the title band (0 without a title)
  static constexpr int kPadding = 12;     ///< between cells and around the grid
  static constexpr int kLabelHeight = 24;  ///< label band above each map
  /// Top-left pixel {x, y} of map `index` (row-major placement).
  std::pair<int, int> map_origin(int index) const;
};

/// The layout write_image_grid uses; throws std::invalid_argument on count < 1,
/// an empty map size or min_cell_pixels < 1.
ImageGridLayout image_grid_layout(int count, int map_height, int map_width, const ImageGridOptions& options);

/// Writes the maps as one 8-bit grayscale PNG and returns its layout. All maps
/// must have the same size; throws std::invalid_argument naming the offending map
/// otherwise, std::runtime_error if the file cannot be written.
ImageGridLayout write_image_grid(const std::filesystem::path& path, const std::vector<GridMap>& maps,
                                 const ImageGridOptions& options = {});

/// Maps from activations: [H,W] -> 1 map; [C,H,W] -> C maps "channel c";
/// [N,C,H,W] -> N*C maps "img n ch c", image by image (set columns = C for one
/// row per image). Float tensors only; labels are 1-based.
std::vector<GridMap> feature_maps(const Tensor& activations);

}  // namespace tg::examples
