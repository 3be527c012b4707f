// exmy/sqnr/huge_page_allocator.hpp — an allocator for the large arrays of the reference-mode
// line search (range_reference.hpp): the sorted 5M-value sample, its prefix sums and the radix
// sort's buffers.
//
// Those arrays are read at ~256k scattered places per format (one per cell boundary and
// candidate) and written in 2048 interleaved streams by the radix sort. With 4 KiB pages nearly
// every such access also misses the TLB; blocks of 4 MiB and more are therefore aligned to 2 MiB
// and advised as transparent huge pages on Linux (MADV_HUGEPAGE, before the first touch), which
// halves the sort's time on the paper's samples. Elsewhere, or for small blocks, it is the plain
// allocator. Elements are default-initialised (resize() writes nothing), so only use it for
// buffers that are written in full before they are read.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace exmy {

template <class T>
struct huge_page_allocator {
  using value_type = T;
  static constexpr std::size_t huge = std::size_t{1} << 21;  // x86-64 / arm64 huge page size
  static constexpr std::size_t threshold = 2 * huge;         // smaller blocks: plain new

  huge_page_allocator() = default;
  template <class U>
  huge_page_allocator(const huge_page_allocator<U>&) {}

  /// n objects; blocks of at least 4 MiB start on a 2 MiB boundary and are advised as huge pages.
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < threshold) return static_cast<T*>(::operator new(bytes));
    const std::size_t rounded = (bytes + huge - 1) / huge * huge;  // aligned_alloc needs a multiple
    void* p = std::aligned_alloc(huge, rounded);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    ::madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
    return static_cast<T*>(p);
  }
  /// Default-initialises: resize() of a buffer of doubles leaves it unwritten (every buffer here
  /// is filled completely right after), saving a pass over 40 MB.
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < threshold)
      ::operator delete(p);
    else
      std::free(p);
  }
};

template <class T, class U>
bool operator==(const huge_page_allocator<T>&, const huge_page_allocator<U>&) {
  return true;
}
template <class T, class U>
bool operator!=(const huge_page_allocator<T>&, const huge_page_allocator<U>&) {
  return false;
}

}  // namespace exmy
