// Private: a hash map keyed by pointers, for the engine's per-pass bookkeeping
// (core/autograd.cpp).
//
// A backward pass looks up each node and leaf it reaches a few times: the
// nodes already visited, the gradient waiting for each node, the slot of each
// leaf. With std::unordered_map every new key was a heap allocation (about
// twenty per backward pass of a 2-16-1 MLP, whose step has nine nodes), a
// cost that small models pay on every step. This map is one array with open addressing (linear
// probing), doubled when half full. Keys are never erased, and null is not a
// valid key. A pointer returned by emplace() or find() is valid until the next
// emplace().
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tg::detail {

template <class V> class PointerMap {
 public:
  /// Room for `expected` keys before the first growth.
  explicit PointerMap(std::size_t expected = 16) {
    std::size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.resize(capacity);
  }

  /// The value of `key`, default-constructed if it was absent, and whether it was inserted.
  std::pair<V*, bool> emplace(const void* key) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    Slot& s = probe(slots_, key);
    if (s.key) return {&s.value, false};
    s.key = key;
    ++size_;
    return {&s.value, true};
  }

  V& operator[](const void* key) { return *emplace(key).first; }

  /// The value of `key`, or null when it is absent.
  V* find(const void* key) {
    Slot& s = probe(slots_, key);
    return s.key ? &s.value : nullptr;
  }

 private:
  struct Slot {
    const void* key = nullptr;
    V value{};
  };

  // The slot holding `key`, or the empty slot where it would go.
  static Slot& probe(std::vector<Slot>& slots, const void* key) {
    // Fibonacci hashing: heap addresses differ in their middle bits.
    const std::size_t mask = slots.size() - 1;
    std::size_t i = static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(key) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    while (slots[i].key && slots[i].key != key) i = (i + 1) & mask;
    return slots[i];
  }

  void grow() {
    std::vector<Slot> bigger(2 * slots_.size());
    for (Slot& s : slots_)
      if (s.key) {
        Slot& t = probe(bigger, s.key);
        t.key = s.key;
        t.value = std::move(s.value);
      }
    slots_.swap(bigger);
  }

  std::vector<Slot> slots_;  // a power of two in size
  std::size_t size_ = 0;
};

}  // namespace tg::detail
