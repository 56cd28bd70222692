// The labelled map grid: layout, per-map normalisation, nearest-neighbour
// upscaling, text from stb_easy_font's quads, PNG through libstb.
#include "common/image_grid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>

#include <tapegrad/core/tensor.hpp>

namespace tg::examples {

namespace {

constexpr int kTitleBand = 40;
constexpr unsigned char kPage = 255, kInk = 0, kFrame = 170;

// stb_easy_font knows printable ASCII only (it would index past its table).
std::string printable(const std::string& text) {
  std::string out = text;
  for (char& c : out)
    if (c < 32 || c > 126) c = '?';
  return out;
}

int text_width(const std::string& text, int scale) {
  std::string t = printable(text);
  return stb_easy_font_width(t.data()) * scale;
}

struct Canvas {
  int width, height;
  std::vector<unsigned char> pixels;

  Canvas(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h, kPage) {}

  // Fills [x0, x1) x [y0, y1) clipped to the canvas and to the columns [clip_x0, clip_x1).
  void fill(int x0, int y0, int x1, int y1, unsigned char value, int clip_x0 = 0,
            int clip_x1 = std::numeric_limits<int>::max()) {
    x0 = std::max({x0, 0, clip_x0});
    x1 = std::min({x1, width, clip_x1});
    y0 = std::max(y0, 0);
    y1 = std::min(y1, height);
    for (int y = y0; y < y1; ++y)
      std::fill(pixels.begin() + static_cast<std::ptrdiff_t>(y) * width + x0,
                pixels.begin() + static_cast<std::ptrdiff_t>(y) * width + std::max(x0, x1), value);
  }

  // stb_easy_font builds each glyph from axis-aligned quads on a unit grid;
  // scaling them by an integer keeps the strokes crisp.
  void text(int x, int y, const std::string& text, int scale, int clip_width) {
    std::string t = printable(text);
    std::vector<char> quads(t.size() * 320 + 64);
    const int n = stb_easy_font_print(0, 0, t.data(), nullptr, quads.data(), static_cast<int>(quads.size()));
    for (int q = 0; q < n; ++q) {
      const float* v0 = reinterpret_cast<const float*>(quads.data() + q * 64);       // top-left vertex
      const float* v2 = reinterpret_cast<const float*>(quads.data() + q * 64 + 32);  // bottom-right vertex
      fill(x + static_cast<int>(v0[0]) * scale, y + static_cast<int>(v0[1]) * scale,
           x + static_cast<int>(v2[0]) * scale, y + static_cast<int>(v2[1]) * scale, kInk, x, x + clip_width);
    }
  }
};

}  // namespace

std::pair<int, int> ImageGridLayout::map_origin(int index) const {
  const int col = index % columns, row = index / columns;
  return {kPadding + col * (cell_width + kPadding),
          top + kPadding + row * (kLabelHeight + cell_height + kPadding) + kLabelHeight};
}

ImageGridLayout image_grid_layout(int count, int map_height, int map_width, const ImageGridOptions& o) {
  if (count < 1 || map_height < 1 || map_width < 1 || o.min_cell_pixels < 1 || o.columns < 0)
    throw std::invalid_argument("image_grid_layout: need at least one map of at least 1x1 and min_cell_pixels >= 1, got " +
                                std::to_string(count) + " maps of " + std::to_string(map_height) + "x" +
                                std::to_string(map_width) + ", min_cell_pixels " + std::to_string(o.min_cell_pixels));
  ImageGridLayout l;
  l.columns = std::min(o.columns > 0 ? o.columns : 8, count);
  l.rows = (count + l.columns - 1) / l.columns;
  const int longer = std::max(map_height, map_width);
  l.scale = std::max(1, (o.min_cell_pixels + longer - 1) / longer);
  l.cell_width = map_width * l.scale;
  l.cell_height = map_height * l.scale;
  l.top = o.title.empty() ? 0 : kTitleBand;
  l.width = l.columns * l.cell_width + (l.columns + 1) * ImageGridLayout::kPadding;
  if (!o.title.empty()) l.width = std::max(l.width, text_width(o.title, 2) + 2 * ImageGridLayout::kPadding);
  l.height = l.top + l.rows * (ImageGridLayout::kLabelHeight + l.cell_height) +
             (l.rows + 1) * ImageGridLayout::kPadding;
  return l;
}

ImageGridLayout write_image_grid(const std::filesystem::path& path, const std::vector<GridMap>& maps,
                                 const ImageGridOptions& options) {
  if (maps.empty()) throw std::invalid_argument("write_image_grid: no maps to draw");
  const int h = maps[0].height, w = maps[0].width;
  for (std::size_t i = 0; i < maps.size(); ++i) {
    const GridMap& m = maps[i];
    if (m.height != h || m.width != w || m.values.size() != static_cast<std::size_t>(std::max(h, 0)) * std::max(w, 0))
      throw std::invalid_argument("write_image_grid: map " + std::to_string(i) + " ('" + m.label + "') is " +
                                  std::to_string(m.height) + "x" + std::to_string(m.width) + " with " +
                                  std::to_string(m.values.size()) + " values; expected " + std::to_string(h) + "x" +
                                  std::to_string(w) + " like map 0");
  }
  const ImageGridLayout l = image_grid_layout(static_cast<int>(maps.size()), h, w, options);
  Canvas canvas(l.width, l.height);
  if (!options.title.empty()) canvas.text(ImageGridLayout::kPadding, 12, options.title, 2, l.width);

  for (std::size_t i = 0; i < maps.size(); ++i) {
    const GridMap& m = maps[i];
    const auto [x, y] = l.map_origin(static_cast<int>(i));
    // Labels at twice the font's size when they fit, else at its natural size.
    const int text_scale = text_width(m.label, 2) <= l.cell_width ? 2 : 1;
    canvas.text(x, y - ImageGridLayout::kLabelHeight + 4, m.label, text_scale, l.cell_width);
    // A one-pixel frame so a blank (all-minimum) map is still visible on the page.
    canvas.fill(x - 1, y - 1, x + l.cell_width + 1, y + l.cell_height + 1, kFrame);

    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    if (options.value_range) {
      lo = options.value_range->first;
      hi = options.value_range->second;
    } else {
      for (const float v : m.values)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    const float range = hi > lo ? hi - lo : 1.0f;
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) {
        const float v = m.values[static_cast<std::size_t>(r) * w + c];
        const float t = std::isfinite(v) ? std::clamp((v - lo) / range, 0.0f, 1.0f) : 0.0f;
        const float shade = options.large_is_dark ? 1.0f - t : t;
        const auto value = static_cast<unsigned char>(std::lround(255.0f * shade));
        canvas.fill(x + c * l.scale, y + r * l.scale, x + (c + 1) * l.scale, y + (r + 1) * l.scale, value);
      }
  }

  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (!stbi_write_png(path.c_str(), l.width, l.height, 1, canvas.pixels.data(), l.width))
    throw std::runtime_error("write_image_grid: cannot write " + path.string());
  return l;
}

std::vector<GridMap> feature_maps(const Tensor& activations) {
  if (!activations.defined() || activations.dim() < 2 || activations.dim() > 4 || activations.dtype() == kInt64)
    throw std::invalid_argument("feature_maps: expected a float [H,W], [C,H,W] or [N,C,H,W] tensor, got " +
                                (activations.defined() ? describe(activations) : std::string("an undefined tensor")));
  const int d = activations.dim();
  const auto n = d == 4 ? activations.size(0) : 1;
  const auto channels = d >= 3 ? activations.size(-3) : 1;
  const auto h = activations.size(-2), w = activations.size(-1);
  const std::vector<float> all = activations.to_vector<float>();
  std::vector<GridMap> maps;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < channels; ++c) {
      GridMap m;
      m.label = d == 4   ? "img " + std::to_string(i + 1) + " ch " + std::to_string(c + 1)
                : d == 3 ? "channel " + std::to_string(c + 1)
                         : "";
      m.height = static_cast<int>(h);
      m.width = static_cast<int>(w);
      const auto begin = all.begin() + static_cast<std::ptrdiff_t>((i * channels + c) * h * w);
      m.values.assign(begin, begin + static_cast<std::ptrdiff_t>(h * w));
      maps.push_back(std::move(m));
    }
  return maps;
}

}  // namespace tg::examples
