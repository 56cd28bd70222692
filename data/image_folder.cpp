// ImageFolder: listing root/<class>/... once, in torchvision's order; decoding
// one file per get(i).
#include <tapegrad/data/image_folder.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <filesystem>
#include <queue>
#include <set>
#include <system_error>

#include "core/dispatch.hpp"

namespace tg::data {
namespace {

namespace fs = std::filesystem;
using detail::fail;

bool is_hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

// torchvision's has_file_allowed_extension: the lower-cased name ends in one of them.
bool is_image_name(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string& ext : image_folder_extensions())
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) return true;
  return false;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The entries of `folder` that are not hidden, split into folders (links to
// folders included, as os.scandir's is_dir()) and image files.
struct Listing {
  std::vector<fs::path> folders;
  std::vector<std::string> image_names;
};
Listing list_folder(const fs::path& folder) {
  Listing out;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_hidden(name)) continue;
    std::error_code status_ec;
    if (it->is_directory(status_ec))
      out.folders.push_back(it->path());
    else if (is_image_name(name))
      out.image_names.push_back(name);  // a broken link too: get(i) then names it
  }
  if (ec) fail("ImageFolder: cannot list the folder '", folder.string(), "': ", ec.message());
  return out;
}

// The image files under `class_folder`, recursively, in the order of
// torchvision's sorted(os.walk(class_folder, followlinks=True)): folders by
// their paths, the files of each folder by name. Popping the smallest pending
// path visits the folders in exactly that order (a folder's sub-folders extend
// its path, so they sort after it), and a folder reached again through a link
// is skipped — at its first, smallest path it was already listed — so a link
// cycle ends.
std::vector<std::string> images_under(const fs::path& class_folder) {
  std::vector<std::string> images;
  std::priority_queue<std::string, std::vector<std::string>, std::greater<>> pending;
  pending.push(class_folder.string());
  std::set<fs::path> visited;
  while (!pending.empty()) {
    const fs::path folder = pending.top();
    pending.pop();
    std::error_code ec;
    const fs::path real = fs::canonical(folder, ec);
    if (ec) fail("ImageFolder: cannot resolve the folder '", folder.string(), "': ", ec.message());
    if (!visited.insert(real).second) continue;
    Listing listing = list_folder(folder);
    std::sort(listing.image_names.begin(), listing.image_names.end());
    for (const std::string& name : listing.image_names) images.push_back((folder / name).string());
    for (const fs::path& sub : listing.folders) pending.push(sub.string());
  }
  return images;
}

}  // namespace

const std::vector<std::string>& image_folder_extensions() {
  static const std::vector<std::string> extensions = {".bmp", ".gif", ".jpeg", ".jpg", ".pgm",
                                                      ".png", ".pnm", ".ppm",  ".tga"};
  return extensions;
}

ImageFolder::ImageFolder(std::string root, ImageFolderOptions options)
    : root_(std::move(root)), options_(options) {
  const std::string name = "'" + root_ + "'";
  std::error_code ec;
  const fs::file_status status = fs::status(root_, ec);
  if (!fs::exists(status)) fail("ImageFolder: ", name, ": no such directory");
  if (!fs::is_directory(status)) fail("ImageFolder: ", name, " is not a directory");

  Listing top = list_folder(root_);
  if (top.folders.empty())
    fail("ImageFolder: ", name, " has no class folders: put each class's images in a sub-folder named after it (",
         root_, "/<class>/<image>)",
         top.image_names.empty()                ? ""
         : top.image_names.size() == 1          ? "; the image file directly in it belongs to no class"
                                                : "; the " + std::to_string(top.image_names.size()) +
                                                      " image files directly in it belong to no class");
  std::sort(top.folders.begin(), top.folders.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });

  std::vector<std::string> empty_classes;
  for (const fs::path& folder : top.folders) {
    const auto label = static_cast<std::int64_t>(classes_.size());
    classes_.push_back(folder.filename().string());
    const std::vector<std::string> images = images_under(folder);
    if (images.empty()) empty_classes.push_back(classes_.back());
    for (const std::string& path : images) samples_.push_back({path, label});
  }
  if (!empty_classes.empty() && !options_.allow_empty)
    fail("ImageFolder: ", name, ": found no image file for the class", empty_classes.size() == 1 ? " " : "es ",
         joined(empty_classes), " (an image's name ends in ", joined(image_folder_extensions()),
         ", in any case; set ImageFolderOptions::allow_empty to accept classes without images)");
}

std::int64_t ImageFolder::size() const { return static_cast<std::int64_t>(samples_.size()); }

Example ImageFolder::get(std::int64_t index) const {
  if (index < 0 || index >= size())
    fail("ImageFolder: index ", index, " is out of range for ", size(), " examples");
  const Sample& sample = samples_[static_cast<std::size_t>(index)];
  return {read_image(sample.path, options_.channels, options_.limits), tensor_i64({sample.label}, {})};
}

}  // namespace tg::data
