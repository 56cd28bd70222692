// Picture files and ImageFolder: exact pixels of small PNG/BMP files written
// here, gray conversion against the BT.601 formula, channel modes, the class
// order and labels of a folder tree (nested folders, other and hidden files),
// the refusals naming the file or the root, the pixel limit checked before
// decoding, and the same batches from a DataLoader with 0 and 2 workers.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

using Pixels = std::vector<std::uint8_t>;

// Writes `pixels` (rows of interleaved channels) as a PNG, creating its folder.
void write_png(const fs::path& path, int width, int height, int channels, const Pixels& pixels) {
  fs::create_directories(path.parent_path());
  REQUIRE(pixels.size() == static_cast<std::size_t>(width * height * channels));
  REQUIRE(stbi_write_png(path.string().c_str(), width, height, channels, pixels.data(), width * channels));
}

// A width x height image of one value per pixel (and channel), as a PNG.
void write_flat_png(const fs::path& path, int width, int height, int channels, std::uint8_t value) {
  write_png(path, width, height, channels, Pixels(static_cast<std::size_t>(width * height * channels), value));
}

std::vector<std::int64_t> values(const Tensor& t) { return t.to_vector<std::int64_t>(); }

// stb_image's gray, the BT.601 luma in 8-bit fixed point.
std::int64_t stb_luma(int r, int g, int b) { return (77 * r + 150 * g + 29 * b) >> 8; }

}  // namespace

TEST_CASE("read_image: the pixels of a 3x2 RGB PNG, as int64 [3,2,3]", "[data][image]") {
  tg::testing::TempDir dir;
  // Row 0: red, green, blue; row 1: white, black, (10, 20, 30).
  const Pixels rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 10, 20, 30};
  write_png(dir.path / "six.png", 3, 2, 3, rgb);
  const Tensor image = data::read_image(dir.file("six.png"));
  CHECK(image.dtype() == kInt64);
  CHECK(image.shape() == Shape{3, 2, 3});
  CHECK(values(image) == std::vector<std::int64_t>{255, 0, 0, 255, 0, 10,     // R plane
                                                   0, 255, 0, 255, 0, 20,     // G plane
                                                   0, 0, 255, 255, 0, 30});   // B plane
  // The same pixels from a BMP.
  REQUIRE(stbi_write_bmp(dir.file("six.bmp").c_str(), 3, 2, 3, rgb.data()));
  CHECK(values(data::read_image(dir.file("six.bmp"))) == values(image));
  // to_float makes them float32 in [0, 1], as for IDX pixels.
  data::transforms::Rng rng(0, 0, 0);
  const Tensor x = data::transforms::to_float()(image, rng);
  CHECK(x.dtype() == kFloat32);
  CHECK(x.to_vector()[17] == Approx(30.0 / 255));
}

TEST_CASE("read_image: gray is the BT.601 luma, as stb_image and PIL compute it", "[data][image]") {
  tg::testing::TempDir dir;
  const std::vector<std::array<int, 3>> colours = {{255, 0, 0},   {0, 255, 0},   {0, 0, 255},  {255, 255, 255},
                                                   {0, 0, 0},     {10, 200, 30}, {128, 64, 32}, {1, 2, 3}};
  Pixels rgb;
  for (const auto& c : colours) rgb.insert(rgb.end(), {std::uint8_t(c[0]), std::uint8_t(c[1]), std::uint8_t(c[2])});
  write_png(dir.path / "colours.png", static_cast<int>(colours.size()), 1, 3, rgb);
  const Tensor gray = data::read_image(dir.file("colours.png"), data::ImageChannels::Gray);
  REQUIRE(gray.shape() == Shape{1, 1, static_cast<std::int64_t>(colours.size())});
  for (std::size_t i = 0; i < colours.size(); ++i) {
    const auto [r, g, b] = colours[i];
    INFO("colour " << r << "," << g << "," << b);
    CHECK(values(gray)[i] == stb_luma(r, g, b));
    // Within 1 of PIL's convert("L"): round(0.299 R + 0.587 G + 0.114 B).
    CHECK(std::abs(values(gray)[i] - std::lround(0.299 * r + 0.587 * g + 0.114 * b)) <= 1);
  }
  CHECK(values(gray)[0] == 76);   // red
  CHECK(values(gray)[1] == 149);  // green
  CHECK(values(gray)[2] == 28);   // blue
  CHECK(values(gray)[3] == 255);  // white stays white
}

TEST_CASE("read_image: channel modes convert gray, RGB and RGBA files", "[data][image]") {
  using data::ImageChannels;
  tg::testing::TempDir dir;
  write_png(dir.path / "gray.png", 2, 1, 1, {7, 250});
  write_png(dir.path / "rgba.png", 1, 1, 4, {10, 200, 30, 99});
  const std::string gray = dir.file("gray.png"), rgba = dir.file("rgba.png");

  CHECK(data::read_image(gray).shape() == Shape{1, 1, 2});  // Keep: as stored
  CHECK(values(data::read_image(gray, ImageChannels::Rgb)) == std::vector<std::int64_t>{7, 250, 7, 250, 7, 250});
  CHECK(values(data::read_image(gray, ImageChannels::GrayAlpha)) == std::vector<std::int64_t>{7, 250, 255, 255});
  CHECK(values(data::read_image(gray, ImageChannels::Rgba)) ==
        std::vector<std::int64_t>{7, 250, 7, 250, 7, 250, 255, 255});

  CHECK(values(data::read_image(rgba)) == std::vector<std::int64_t>{10, 200, 30, 99});
  CHECK(values(data::read_image(rgba, ImageChannels::Rgb)) == std::vector<std::int64_t>{10, 200, 30});  // alpha dropped
  CHECK(values(data::read_image(rgba, ImageChannels::Gray)) == std::vector<std::int64_t>{stb_luma(10, 200, 30)});
  CHECK(values(data::read_image(rgba, ImageChannels::GrayAlpha)) ==
        std::vector<std::int64_t>{stb_luma(10, 200, 30), 99});

  // A JPEG is lossy, but a flat colour survives within a level or two.
  REQUIRE(stbi_write_jpg(dir.file("flat.jpg").c_str(), 8, 8, 3, Pixels(8 * 8 * 3, 128).data(), 100));
  const Tensor jpeg = data::read_image(dir.file("flat.jpg"));
  CHECK(jpeg.shape() == Shape{3, 8, 8});
  for (std::int64_t v : values(jpeg)) CHECK(std::abs(v - 128) <= 2);
}

TEST_CASE("read_image refuses what it cannot read, naming the file", "[data][image]") {
  tg::testing::TempDir dir;
  const std::string missing = dir.file("missing.png"), empty = dir.file("empty.png"), text = dir.file("notes.png");
  tg::testing::write_file(empty, {});
  tg::testing::write_file(text, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'});
  CHECK_THROWS_WITH(data::read_image(missing), "read_image: '" + missing + "': cannot open: no such file");
  CHECK_THROWS_WITH(data::read_image(dir.str()),
                    "read_image: '" + dir.str() + "': cannot read: it is a directory, not an image");
  CHECK_THROWS_WITH(data::read_image(empty), "read_image: '" + empty + "' is empty");
  CHECK_THROWS_WITH(data::read_image(text), "read_image: '" + text +
                                                "' is not an image stb_image reads (PNG, JPEG, BMP, GIF, TGA, PSD, "
                                                "HDR, PIC, PNM), or its header is corrupt");

  // A PNG cut in the middle of its pixel data: the header reads, decoding fails.
  write_flat_png(dir.path / "whole.png", 16, 16, 3, 90);
  std::ifstream in(dir.file("whole.png"), std::ios::binary);
  std::vector<std::uint8_t> bytes(std::istreambuf_iterator<char>(in), {});
  bytes.resize(bytes.size() / 2);
  const std::string cut = dir.file("cut.png");
  tg::testing::write_file(cut, bytes);
  CHECK_THROWS_WITH(data::read_image(cut), Contains("read_image: '" + cut + "': cannot decode the 16x16 image") &&
                                               Contains("the file is corrupt or truncated"));
  // stb_image's reason, when it gives one of this decode's own.
  using tg::testing::png_chunk;
  tg::testing::write_file(dir.file("bad-zlib.png"),  // an IDAT chunk that is not zlib data
                          tg::testing::png_file(4, 4, {png_chunk("IDAT", {0, 0, 0, 0}), png_chunk("IEND", {})}));
  tg::testing::write_file(dir.file("no-idat.png"), tg::testing::png_file(4, 4, {png_chunk("IEND", {})}));
  CHECK_THROWS_WITH(data::read_image(dir.file("bad-zlib.png")),
                    "read_image: '" + dir.file("bad-zlib.png") +
                        "': cannot decode the 4x4 image (stb_image: bad compression): the file is corrupt or "
                        "truncated, or uses a feature stb_image lacks");
  CHECK_THROWS_WITH(data::read_image(dir.file("no-idat.png")), Contains("(stb_image: no IDAT)"));
  CHECK_THROWS_AS(data::read_image(cut), std::invalid_argument);
}

TEST_CASE("read_image checks max_image_pixels before decoding anything", "[data][image][limits]") {
  tg::testing::TempDir dir;
  // 20000 x 10000 = 2e8 pixels declared by a 33-byte file that holds none of them.
  const std::string huge = dir.file("huge.png");
  tg::testing::write_file(huge, tg::testing::png_file(20000, 10000));
  CHECK_THROWS_WITH(data::read_image(huge),
                    "read_image: '" + huge +
                        "': the image is 20000x10000 = 200000000 pixels, more than 134217728 (the limit "
                        "tg::ReadLimits::max_image_pixels); raise it, with tg::set_read_limits or per call, if the "
                        "file is genuine");
  // With the limit raised, the header passes and only then does decoding find no pixels:
  // the refusal above came before any decoding.
  ReadLimits limits;
  limits.max_image_pixels = 200000000;
  CHECK_THROWS_WITH(data::read_image(huge, data::ImageChannels::Keep, limits),
                    Contains("cannot decode the 20000x10000 image"));
}

namespace {

// root/Zebra/z.png                  class 0 (byte order: 'Z' < 'c')
// root/cat/{a.PNG, b.png, zz.png}   class 1, then root/cat/sub/c.bmp (its folder sorts after cat's files)
// root/cat/notes.txt, root/cat/.hidden.png, root/.git/x.png, root/readme.png: ignored
// root/dog/d.png                    class 2
// Every image is 2x2 RGB, flat, of a value of its own.
struct PetsFolder {
  tg::testing::TempDir dir{"tapegrad-imagefolder"};
  fs::path root = dir.path / "pets";
  PetsFolder() {
    write_flat_png(root / "Zebra" / "z.png", 2, 2, 3, 10);
    write_flat_png(root / "cat" / "b.png", 2, 2, 3, 20);
    write_flat_png(root / "cat" / "a.PNG", 2, 2, 3, 30);
    write_flat_png(root / "cat" / "zz.png", 2, 2, 3, 40);
    fs::create_directories(root / "cat" / "sub");
    REQUIRE(stbi_write_bmp((root / "cat" / "sub" / "c.bmp").string().c_str(), 2, 2, 3, Pixels(12, 50).data()));
    write_flat_png(root / "dog" / "d.png", 2, 2, 1, 60);  // a gray file: read as RGB
    write_flat_png(root / "cat" / ".hidden.png", 2, 2, 3, 1);
    write_flat_png(root / ".git" / "x.png", 2, 2, 3, 1);
    write_flat_png(root / "readme.png", 2, 2, 3, 1);
    tg::testing::write_file((root / "cat" / "notes.txt").string(), {'h', 'i'});
  }
  std::string at(const std::string& relative) const { return (root / relative).string(); }
};

}  // namespace

TEST_CASE("ImageFolder: classes are sorted sub-folders, labels their index, files in torchvision's order",
          "[data][image_folder]") {
  PetsFolder pets;
  data::ImageFolder folder(pets.root.string());
  CHECK(folder.classes() == std::vector<std::string>{"Zebra", "cat", "dog"});
  REQUIRE(folder.size() == 6);
  std::vector<std::string> paths;
  std::vector<std::int64_t> labels;
  for (const data::ImageFolder::Sample& s : folder.samples()) {
    paths.push_back(s.path);
    labels.push_back(s.label);
  }
  CHECK(paths == std::vector<std::string>{pets.at("Zebra/z.png"), pets.at("cat/a.PNG"), pets.at("cat/b.png"),
                                          pets.at("cat/zz.png"), pets.at("cat/sub/c.bmp"), pets.at("dog/d.png")});
  CHECK(labels == std::vector<std::int64_t>{0, 1, 1, 1, 1, 2});

  const std::vector<std::int64_t> flat_values = {10, 30, 20, 40, 50, 60};
  for (std::int64_t i = 0; i < folder.size(); ++i) {
    CAPTURE(i);
    const data::Example e = folder.get(i);
    CHECK(e.input.dtype() == kInt64);
    CHECK(e.input.shape() == Shape{3, 2, 2});  // RGB by default, the gray dog too
    CHECK(values(e.input) == std::vector<std::int64_t>(12, flat_values[static_cast<std::size_t>(i)]));
    CHECK(e.target.dtype() == kInt64);
    CHECK(e.target.dim() == 0);
    CHECK(e.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{labels[static_cast<std::size_t>(i)]});
  }

  data::ImageFolderOptions gray;
  gray.channels = data::ImageChannels::Gray;
  CHECK(data::ImageFolder(pets.root.string(), gray).get(5).input.shape() == Shape{1, 2, 2});
  CHECK_THROWS_WITH(folder.get(6), "ImageFolder: index 6 is out of range for 6 examples");
  CHECK_THROWS_WITH(folder.get(-1), "ImageFolder: index -1 is out of range for 6 examples");
}

TEST_CASE("ImageFolder refuses a root it cannot use, naming it", "[data][image_folder]") {
  tg::testing::TempDir dir;
  const std::string missing = dir.file("missing"), file = dir.file("file.png"), empty = dir.file("empty");
  write_flat_png(file, 1, 1, 1, 0);
  fs::create_directories(empty);
  CHECK_THROWS_WITH(data::ImageFolder(missing), "ImageFolder: '" + missing + "': no such directory");
  CHECK_THROWS_WITH(data::ImageFolder(file), "ImageFolder: '" + file + "' is not a directory");
  CHECK_THROWS_WITH(data::ImageFolder(empty),
                    "ImageFolder: '" + empty +
                        "' has no class folders: put each class's images in a sub-folder named after it (" + empty +
                        "/<class>/<image>)");
  SECTION("images directly in the root belong to no class") {
    write_flat_png(fs::path(empty) / "a.png", 1, 1, 1, 0);
    write_flat_png(fs::path(empty) / "b.jpg", 1, 1, 1, 0);
    CHECK_THROWS_WITH(data::ImageFolder(empty), Contains("; the 2 image files directly in it belong to no class"));
  }
  SECTION("class folders without images are named, as torchvision names them") {
    write_flat_png(fs::path(empty) / "bird" / "b.png", 1, 1, 1, 0);
    fs::create_directories(fs::path(empty) / "cat" / "sub");
    fs::create_directories(fs::path(empty) / "dog");
    tg::testing::write_file((fs::path(empty) / "dog" / "notes.txt").string(), {'x'});
    CHECK_THROWS_WITH(data::ImageFolder(empty),
                      "ImageFolder: '" + empty +
                          "': found no image file for the classes cat, dog (an image's name ends in .bmp, .gif, "
                          ".jpeg, .jpg, .pgm, .png, .pnm, .ppm, .tga, in any case; set "
                          "ImageFolderOptions::allow_empty to accept classes without images)");
    data::ImageFolderOptions options;
    options.allow_empty = true;
    data::ImageFolder folder(empty, options);
    CHECK(folder.classes() == std::vector<std::string>{"bird", "cat", "dog"});
    CHECK(folder.size() == 1);
  }
}

TEST_CASE("ImageFolder: an unreadable image fails at get(i), naming the file; the loader adds the index",
          "[data][image_folder]") {
  PetsFolder pets;
  tg::testing::write_file(pets.at("cat/b.png"), {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  data::ImageFolder folder(pets.root.string());
  CHECK(values(folder.get(1).input).front() == 30);  // the others read as before
  CHECK_THROWS_WITH(folder.get(2), Contains("read_image: '" + pets.at("cat/b.png") + "' is not an image"));

  const data::DataLoader loader(std::make_shared<data::ImageFolder>(pets.root.string()), {2, /*shuffle*/ false},
                                {/*num_workers*/ 2});
  try {
    for (const data::Batch& b : loader.epoch(0)) (void)b;
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("DataLoader: dataset.get(2) failed (batch 1 of epoch 0)") &&
                             Contains("read_image: '" + pets.at("cat/b.png") + "' is not an image"));
    CHECK_THROWS_AS(std::rethrow_if_nested(e), std::invalid_argument);
  }
}

TEST_CASE("ImageFolder: pictures of different sizes batch after a resize", "[data][image_folder]") {
  tg::testing::TempDir dir;
  write_flat_png(dir.path / "a" / "small.png", 2, 3, 3, 100);
  write_flat_png(dir.path / "b" / "large.png", 5, 4, 3, 100);
  auto folder = std::make_shared<data::ImageFolder>(dir.str());
  auto batch_of_all = [](std::shared_ptr<const data::Dataset> d) {
    data::Batch first;
    for (const data::Batch& b : data::DataLoader(d, {2, false}).epoch(0)) first = b;
    return first;
  };
  CHECK_THROWS_WITH(batch_of_all(folder), Contains("default_collate: the input of example 1 of the batch is "
                                                   "[3,4,5] int64") &&
                                              Contains("example 0 is [3,3,2] int64"));
  namespace T = data::transforms;
  auto uniform = std::make_shared<T::TransformedDataset>(folder, T::compose({T::to_float(), T::resize(3, 3)}), 0);
  const data::Batch b = batch_of_all(uniform);
  CHECK(b.inputs.shape() == Shape{2, 3, 3, 3});
  for (double v : b.inputs.to_vector()) CHECK(v == Approx(100.0 / 255));
  CHECK(b.targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("ImageFolder + to_float: the same batches from a DataLoader with 0 and 2 workers", "[data][image_folder]") {
  tg::testing::TempDir dir;
  // 3 classes x 7 pictures of 4x3 RGB noise, seeded.
  manual_seed(5);
  for (const char* cls : {"ant", "bee", "cow"})
    for (int k = 0; k < 7; ++k) {
      Pixels noise;
      for (double v : rand({4 * 3 * 3}, kFloat64).to_vector()) noise.push_back(static_cast<std::uint8_t>(v * 255));
      write_png(dir.path / cls / ("p" + std::to_string(k) + ".png"), 4, 3, 3, noise);
    }
  auto folder = std::make_shared<data::ImageFolder>(dir.str());
  REQUIRE(folder->size() == 21);
  auto as_float = std::make_shared<data::transforms::TransformedDataset>(folder, data::transforms::to_float(), 0);
  auto run = [&](int workers) {
    std::vector<std::vector<double>> batches;
    for (const data::Batch& b : data::DataLoader(as_float, {4, /*shuffle*/ true, /*seed*/ 3}, {workers}).epoch(1)) {
      CHECK(b.inputs.dtype() == kFloat32);
      std::vector<double> v = b.inputs.to_vector(), t = b.targets.to_vector();
      v.insert(v.end(), t.begin(), t.end());
      batches.push_back(v);
    }
    return batches;
  };
  const auto serial = run(0);
  CHECK(serial.size() == 6);
  CHECK(run(2) == serial);
}
