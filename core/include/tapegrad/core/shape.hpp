// tapegrad — tensor shapes.
//
// A Shape holds up to kMaxDims extents inline (no heap allocation), so that
// creating a tensor or recording an op never allocates for its shape.
// Tensors are always contiguous and row-major: strides are derived, never stored.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace tg {

/// The extents of a tensor, outermost first: 0 to kMaxDims non-negative values
/// whose product, leaving out zero extents, is at most 2^63 - 1. So numel() and
/// strides() never overflow, even for an empty shape such as [0, 2^62, 2^62]
/// (refused: its strides would).
class Shape {
 public:
  /// The most dimensions a shape (and so a tensor) can have.
  static constexpr int kMaxDims = 8;

  /// A 0-d shape (a scalar tensor).
  Shape() = default;
  /// The given extents; throws std::invalid_argument for a negative extent,
  /// more than kMaxDims of them, or extents that multiply beyond 2^63 - 1.
  ///@{
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(const std::vector<std::int64_t>& dims);
  template <class It> Shape(It first, It last) {
    for (; first != last; ++first) append(static_cast<std::int64_t>(*first));
    check_size();
  }
  ///@}

  /// Number of dimensions.
  int size() const { return ndim_; }
  /// True for a 0-d shape.
  bool empty() const { return ndim_ == 0; }
  /// Extent i, 0 <= i < size() (unchecked; see at()).
  std::int64_t operator[](int i) const { return dims_[i]; }
  /// Replaces extent i, 0 <= i < size(); throws as the constructors do.
  void set(int i, std::int64_t extent);
  /// Dimension i, counting from the back when negative (-1 is the last).
  std::int64_t at(int i) const;
  /// The last extent (the shape must not be empty).
  std::int64_t back() const { return dims_[ndim_ - 1]; }
  /// The extents as a range, for range-for and standard algorithms.
  ///@{
  const std::int64_t* begin() const { return dims_; }
  const std::int64_t* end() const { return dims_ + ndim_; }
  ///@}

  /// Appends an extent; throws as the constructors do.
  void push_back(std::int64_t d);
  /// Product of all extents (1 for a 0-d shape).
  std::int64_t numel() const;
  /// Row-major strides in elements.
  std::vector<std::int64_t> strides() const;
  /// The extents as a vector (for reshape and friends).
  std::vector<std::int64_t> vec() const { return {begin(), end()}; }

  /// Same number of dimensions and the same extents.
  ///@{
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  ///@}

  /// "[2,3,4]"
  std::string str() const;

 private:
  void append(std::int64_t d);  // checks the count and the sign, not the size
  void check_size() const;      // the product of the non-zero extents fits in int64

  std::int64_t dims_[kMaxDims] = {};
  int ndim_ = 0;
};

/// Normalises a possibly negative axis for a tensor of `ndim` dimensions;
/// throws std::invalid_argument naming `op` when it is out of range.
int normalize_axis(int axis, int ndim, const char* op);

}  // namespace tg
