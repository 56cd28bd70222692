// Writes a tiny MNIST-format dataset (gzip IDX files) for the trainer smoke
// tests: N training and N/2 test images of 28x28, labels cycling 0..9, each
// image a noisy bar whose position encodes the label (so training can learn).
//   make_tiny_mnist DIR [N]
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

void put_u32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

bool write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size());
  return gzclose(f) == Z_OK && ok;
}

bool write_split(const std::string& dir, const std::string& prefix, int n, std::mt19937& gen) {
  std::vector<unsigned char> images, labels;
  put_u32(images, 2051);
  put_u32(images, static_cast<std::uint32_t>(n));
  put_u32(images, 28);
  put_u32(images, 28);
  put_u32(labels, 2049);
  put_u32(labels, static_cast<std::uint32_t>(n));
  std::uniform_int_distribution<int> noise(0, 40);
  for (int i = 0; i < n; ++i) {
    const int label = i % 10;
    labels.push_back(static_cast<unsigned char>(label));
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c) {
        const bool bar = c >= 2 + 2 * label && c < 4 + 2 * label && r > 4 && r < 24;
        images.push_back(static_cast<unsigned char>(bar ? 255 - noise(gen) : noise(gen)));
      }
  }
  return write_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", images) &&
         write_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", labels);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_tiny_mnist DIR [N]\n");
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 200;
  std::mt19937 gen(1);
  if (!write_split(argv[1], "train", n, gen) || !write_split(argv[1], "t10k", n / 2, gen)) {
    std::fprintf(stderr, "make_tiny_mnist: cannot write into %s\n", argv[1]);
    return 1;
  }
  return 0;
}
