// exmy/sqnr/range_reference.cpp — the paper's sample-based line search, evaluated with sorted
// prefix sums (reference-spec §5.1; see the header for the method).
#include "exmy/sqnr/range_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/random/numpy_legacy.hpp"

namespace exmy {

namespace {

// Double-double arithmetic (Dekker 1971; Shewchuk 1997): a value hi + lo with |lo| ≤ ulp(hi)/2,
// ~106 significant bits. Enough that the cancellation in Σx² − 2gΣx + n·g² (terms ~1e3× the
// result) and 5M-term prefix sums leave the loss exact to far below the 1e-12 tie tolerance.
struct ddv {
  double hi, lo;
};

inline ddv two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
inline ddv quick_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}
inline ddv two_prod(double a, double b) {
  const double p = a * b;
  return {p, std::fma(a, b, -p)};
}
inline ddv dd_add(ddv a, ddv b) {
  ddv s = two_sum(a.hi, b.hi);
  const ddv t = two_sum(a.lo, b.lo);
  s.lo += t.hi;
  s = quick_two_sum(s.hi, s.lo);
  s.lo += t.lo;
  return quick_two_sum(s.hi, s.lo);
}
inline ddv dd_add(ddv a, double b) {
  ddv s = two_sum(a.hi, b);
  s.lo += a.lo;
  return quick_two_sum(s.hi, s.lo);
}
inline ddv dd_neg(ddv a) { return {-a.hi, -a.lo}; }
inline ddv dd_mul(ddv a, double b) {
  ddv p = two_prod(a.hi, b);
  p.lo += a.lo * b;
  return quick_two_sum(p.hi, p.lo);
}
inline ddv dd_mul(ddv a, ddv b) {
  ddv p = two_prod(a.hi, b.hi);
  p.lo += a.hi * b.lo + a.lo * b.hi;
  return quick_two_sum(p.hi, p.lo);
}

// Quantizers whose Q(x) is "nearest grid point, ends saturate" — the only kind the cell sums model.
void require_nearest_point(const format_spec& f) {
  const std::string who = "reference line search, format '" + f.name + "': ";
  if (f.is_affine()) throw error(who + "affine integer formats have no symmetric range [-t, t]");
  if (f.is_float() && f.overflow != overflow_mode::saturate)
    throw error(who + "needs a saturating format (the reference clamps to maxval)");
  if (f.is_float() && !f.subnormals)
    throw error(who + "flushed subnormals are not a nearest-point quantizer");
}

// Number of values ≤ v in a[0, n) (a count, not a search: branch-free, vectorizable).
std::size_t count_le(const double* a, std::size_t n, double v) {
  std::size_t c = 0;
  for (std::size_t i = 0; i < n; ++i) c += a[i] <= v ? 1 : 0;
  return c;
}

// Order-preserving integer key of a double (negative: all bits flipped; positive: sign bit set).
constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63;
inline std::uint64_t order_key(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);  // the defined way to read a double's bits
  return (u & sign_bit) ? ~u : (u | sign_bit);
}
inline double from_order_key(std::uint64_t u) {
  u = (u & sign_bit) ? (u & ~sign_bit) : ~u;
  double v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// Stable LSD radix sort by the top 33 bits of key(element), 3 passes of 11 bits (each pass streams
// the whole array through memory: 3 instead of the 6 a full 64-bit key needs). The first pass
// reads `in`, the result ends in `a` (`b` is scratch). Elements whose keys share those bits keep
// their input order.
constexpr int radix_low_bit = 31;
template <class In, class Buffer, class Key>
void radix_sort_top(const In& in, Buffer& a, Buffer& b, Key key) {
  using T = typename Buffer::value_type;
  constexpr int bits = 11, passes = 3;
  constexpr std::size_t buckets = std::size_t{1} << bits;
  const std::size_t n = in.size();
  a.resize(n);
  b.resize(n);
  std::vector<std::size_t> count(passes * buckets, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t u = key(in[i]);
    for (int p = 0; p < passes; ++p)
      ++count[p * buckets + ((u >> (radix_low_bit + p * bits)) & (buckets - 1))];
  }
  bool first = true;  // the data is still in `in`
  for (int p = 0; p < passes; ++p) {
    std::size_t* c = &count[p * buckets];
    if (*std::max_element(c, c + buckets) == n) continue;  // this digit is the same everywhere
    std::size_t sum = 0;
    for (std::size_t d = 0; d < buckets; ++d) sum += std::exchange(c[d], sum);
    const int shift = radix_low_bit + p * bits;
    if (first) {
      for (std::size_t i = 0; i < n; ++i) a[c[(key(in[i]) >> shift) & (buckets - 1)]++] = T(in[i]);
      first = false;
    } else {
      for (std::size_t i = 0; i < n; ++i) b[c[(key(a[i]) >> shift) & (buckets - 1)]++] = a[i];
      a.swap(b);
    }
  }
  if (first)
    for (std::size_t i = 0; i < n; ++i) a[i] = T(in[i]);
  b = {};
}

// Sorts `in` into `out`: the radix sort above on the doubles themselves (their order-preserving
// keys computed on the fly), then the runs that share the keys' top 33 bits — values within 2^-21
// relative of each other, mostly single pairs — are sorted in place. Any correct sort gives the
// same sequence.
void sort_sample(const std::vector<double>& in, sorted_sample::buffer& out) {
  sorted_sample::buffer scratch;
  radix_sort_top(in, out, scratch, [](double v) { return order_key(v); });
  const std::size_t n = out.size();
  std::uint64_t prev = n > 0 ? order_key(out[0]) >> radix_low_bit : 0;
  for (std::size_t i = 1, start = 0; i <= n; ++i) {
    const std::uint64_t top = i < n ? order_key(out[i]) >> radix_low_bit : ~prev;
    if (top == prev) continue;
    if (i - start > 1)
      std::sort(out.begin() + static_cast<std::ptrdiff_t>(start),
                out.begin() + static_cast<std::ptrdiff_t>(i));
    start = i;
    prev = top;
  }
}

}  // namespace

sorted_sample::sorted_sample(std::vector<double> values) {
  if (values.empty()) throw error("reference line search: empty sample");
  for (double v : values)
    if (!std::isfinite(v)) throw error("reference line search: the sample holds NaN or inf");
  sort_sample(values, x_);
  values = std::vector<double>();  // release the unsorted copy before the prefix sums
  // 1. Σx of each block of `block` values and Σx² of each chunk of 2^16 (independent: both cores,
  //    no long dependency chain); block sums are stored one entry late so that step 2 can turn
  //    them into exclusive prefix sums in place. Fixed chunks: the same sums for any thread count.
  const std::size_t n = x_.size(), nb = (n + block - 1) / block;  // blocks, the last maybe short
  constexpr std::size_t chunk = std::size_t{1} << 16;
  const std::size_t nc = (n + chunk - 1) / chunk;
  prefix_.resize(nb + 1);  // every entry is written below (entry 0 here, the others in step 1)
  prefix_[0] = prefix{};
  std::vector<ddv> sq(nc, ddv{0, 0});
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
  for (std::int64_t c = 0; c < static_cast<std::int64_t>(nc); ++c) {
    const std::size_t lo = static_cast<std::size_t>(c) * chunk, hi = std::min(n, lo + chunk);
    ddv s2[block] = {};  // one accumulator per position in a block: four independent chains
    for (std::size_t b = lo / block; b * block < hi; ++b) {
      ddv s1{0, 0};
      for (std::size_t i = b * block, j = 0; i < std::min(hi, (b + 1) * block); ++i, ++j) {
        s1 = dd_add(s1, x_[i]);
        s2[j] = dd_add(s2[j], two_prod(x_[i], x_[i]));
      }
      prefix_[b + 1] = {s1.hi, s1.lo};
    }
    for (std::size_t j = 1; j < block; ++j) s2[0] = dd_add(s2[0], s2[j]);
    sq[static_cast<std::size_t>(c)] = s2[0];
  }
  // 2. Running sums: entry b becomes Σ over x_[0, b·block); Σx² in chunk order.
  ddv s1{0, 0}, s2{0, 0};
  for (std::size_t b = 1; b <= nb; ++b) {
    s1 = dd_add(s1, ddv{prefix_[b].hi, prefix_[b].lo});
    prefix_[b] = {s1.hi, s1.lo};
  }
  for (const ddv& c : sq) s2 = dd_add(s2, c);
  sum_x2_hi_ = s2.hi;
  sum_x2_lo_ = s2.lo;
}

sorted_sample::prefix sorted_sample::prefix_at(std::size_t i) const {
  const std::size_t b = i / block;
  ddv s{prefix_[b].hi, prefix_[b].lo};
  for (std::size_t j = b * block; j < i; ++j) s = dd_add(s, x_[j]);
  return {s.hi, s.lo};
}

std::size_t sorted_sample::upper_index_near(double v, std::size_t guess) const {
  // Invariant x_[a] ≤ v < x_[b]: hops of 8, 16, 32, … away from the guess until v is bracketed
  // (in a sweep the next boundary is typically a few dozen values on), bisection down to 8
  // values, and a branch-free count of the rest.
  const std::size_t last = x_.size() - 1;
  std::size_t a, b;
  guess = std::min(guess, last);
  if (x_[guess] <= v) {
    a = guess;
    b = std::min(a + 8, last);
    for (std::size_t step = 16; x_[b] <= v; step *= 2) {
      a = b;
      b = (last - a > step) ? a + step : last;
    }
  } else {
    b = guess;
    a = b > 8 ? b - 8 : 0;
    for (std::size_t step = 16; x_[a] > v; step *= 2) {
      b = a;
      a = b > step ? b - step : 0;
    }
  }
  while (b - a > 8) {
    const std::size_t m = a + (b - a) / 2;
    (x_[m] <= v ? a : b) = m;
  }
  return a + 1 + count_le(x_.data() + a + 1, b - a - 1, v);
}

double sorted_sample::nearest_point_loss(const std::vector<double>& g) const {
  double out = 0;
  nearest_point_losses({g}, &out);
  return out;
}

void sorted_sample::nearest_point_losses(const std::vector<std::vector<double>>& grids,
                                         double* out) const {
  // Cell i of a grid g is [m_{i−1}, m_i) with m_i = (g_i + g_{i+1})/2 (a sample exactly on a
  // midpoint is equally far from both neighbours, so its side does not change the loss); the end
  // cells take everything beyond. With C(m) and S(m) the count and Σx of the samples ≤ m,
  // summation by parts turns Σ_cells Σ(x − g_i)² into one term per boundary:
  //   L = Σx² + n·g_N² − 2g_N·Σx + Σ_{i<N} [C(m_i)(g_i² − g_{i+1}²) − 2S(m_i)(g_i − g_{i+1})],
  // N the last index, every product and difference in double-double (the terms cancel against
  // Σx² by up to ~1e5 for 8-bit grids; ~1e-27 relative remains). A line search's ~255k
  // boundaries fall all over the 5M values; searched one by one, each is a cache and TLB miss.
  // Here they are sorted by value and located in one forward sweep, where consecutive boundaries
  // lie a few values apart, and each adds its term to its grid's accumulator (in L1).
  const std::size_t n = x_.size(), ng = grids.size();
  std::size_t longest = 1;
  for (const auto& g : grids) longest = std::max(longest, g.size());
  int shift = 0;  // boundary i of grid k has the slot (k << shift) | i
  while ((std::size_t{1} << shift) < longest) ++shift;
  if ((ng << shift) > 0xffffffffu && ng > 1) {  // slots are 32-bit: halve the batch
    const std::size_t h = ng / 2;
    nearest_point_losses({grids.begin(), grids.begin() + static_cast<std::ptrdiff_t>(h)}, out);
    nearest_point_losses({grids.begin() + static_cast<std::ptrdiff_t>(h), grids.end()}, out + h);
    return;
  }
  const prefix whole_p = prefix_at(n);
  const ddv whole{whole_p.hi, whole_p.lo};
  const double count_all = static_cast<double>(n);
  // The term of boundary i of grid g for C(m_i) = c, S(m_i) = sum, factored as
  // −2(g_i − g_{i+1})·(S − C·m) with m = (g_i + g_{i+1})/2 exact in double-double: S − C·m is
  // Σ(x − m) over the samples below the boundary. Two rounded products per boundary.
  const auto term = [](const std::vector<double>& g, std::size_t i, double c, ddv sum) {
    const ddv d1 = two_sum(g[i], -g[i + 1]);
    ddv m = two_sum(g[i], g[i + 1]);
    m.hi *= 0.5;
    m.lo *= 0.5;
    const ddv t = dd_mul(dd_add(sum, dd_neg(dd_mul(m, c))), d1);
    return ddv{-2 * t.hi, -2 * t.lo};
  };
  // 1. Per grid, the end terms and the boundaries at or beyond the largest value (C = n); the
  //    boundaries inside the sample are collected for the sweep (below it they add nothing).
  struct query {
    std::uint64_t key;  // order_key of the boundary
    std::uint32_t slot;
  };
  std::vector<ddv> fixed(ng);
  std::vector<query, huge_page_allocator<query>> q, sorted, scratch;
  for (std::size_t k = 0; k < ng; ++k) {
    const std::vector<double>& g = grids[k];
    const double last = g.back();
    ddv acc = dd_add(dd_mul(two_prod(last, last), count_all), dd_mul(whole, -2.0 * last));
    for (std::size_t i = 0; i + 1 < g.size(); ++i) {
      const double mid = 0.5 * g[i] + 0.5 * g[i + 1];
      if (mid >= x_.back())
        acc = dd_add(acc, term(g, i, count_all, whole));
      else if (mid >= x_.front())
        q.push_back({order_key(mid), static_cast<std::uint32_t>((k << shift) | i)});
    }
    fixed[k] = acc;
  }
  radix_sort_top(q, sorted, scratch, [](const query& e) { return e.key; });
  q = {};
  // 2. The sweep, in a fixed number of contiguous parts of the sorted boundaries (run on the
  //    available threads), each with its own accumulators: the sums do not depend on the thread
  //    count. Keys that share their top 33 bits may be out of order; the two-sided search absorbs
  //    that.
  const std::size_t nq = sorted.size();
  const std::size_t parts = nq > 8192 ? 8 : 1;
  std::vector<ddv> acc(parts * ng, ddv{0, 0});
  const std::size_t mask = (std::size_t{1} << shift) - 1;
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1)
#endif
  for (std::int64_t pp = 0; pp < static_cast<std::int64_t>(parts); ++pp) {
    const std::size_t part = static_cast<std::size_t>(pp);
    const std::size_t from = nq * part / parts, to = nq * (part + 1) / parts;
    ddv* a = &acc[part * ng];
    std::size_t pos = n / 2;
    for (std::size_t j = from; j < to; ++j) {
      const query& e = sorted[j];
      pos = upper_index_near(from_order_key(e.key), pos);
      const prefix h = prefix_at(pos);
      const std::size_t k = e.slot >> shift;
      a[k] = dd_add(a[k], term(grids[k], e.slot & mask, static_cast<double>(pos), {h.hi, h.lo}));
    }
  }
  // 3. Σx² + the fixed terms + the parts, in that order.
  const ddv total_x2{sum_x2_hi_, sum_x2_lo_};
  for (std::size_t k = 0; k < ng; ++k) {
    ddv total = dd_add(total_x2, fixed[k]);
    for (std::size_t part = 0; part < parts; ++part) total = dd_add(total, acc[part * ng + k]);
    out[k] = total.hi + total.lo;
  }
}

quant_params reference_candidate_params(const format_spec& f, double threshold) {
  require_nearest_point(f);
  const float t32 = static_cast<float>(threshold);  // the reference keeps ranges in float32
  if (f.is_float()) return make_params(f, static_cast<double>(t32));
  // SymmetricUniformQuantizer: Δ = t/(2^(n−1) − 1) divided in float32 (reference-spec §7, Q10).
  // native_max·Δ is exact in double (24 + 16 bits), so make_params recovers Δ exactly.
  const double native_max = make_native_params(f).maxval;
  const float delta = t32 / static_cast<float>(native_max);
  return make_params(f, native_max * static_cast<double>(delta));
}

double reference_loss(const double* x, std::size_t n, const quant_params& p) {
  // Fixed chunks summed in index order: the result does not depend on the thread count. Q(x) comes
  // from the vectorized driver (bit-identical to quantize_value, design.md §2), one chunk at a
  // time.
  constexpr std::size_t chunk = std::size_t{1} << 14;
  const std::size_t nc = (n + chunk - 1) / chunk;
  std::vector<ddv> part(nc, ddv{0, 0});
  quantize_options one_thread;
  one_thread.threads = 1;
#ifdef _OPENMP
#pragma omp parallel
#endif
  {
    std::vector<double> q(chunk);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (std::int64_t c = 0; c < static_cast<std::int64_t>(nc); ++c) {
      const std::size_t lo = static_cast<std::size_t>(c) * chunk, len = std::min(n - lo, chunk);
      quantize(x + lo, q.data(), len, p, one_thread);
      // Four interleaved accumulators break the dependency chain of the double-double additions.
      ddv s[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
      for (std::size_t i = 0; i < len; ++i) {
        const double d = x[lo + i] - q[i];
        s[i & 3] = dd_add(s[i & 3], d * d);  // the term rounded to double, as in float64 torch
      }
      part[static_cast<std::size_t>(c)] = dd_add(dd_add(s[0], s[1]), dd_add(s[2], s[3]));
    }
  }
  ddv total{0, 0};
  for (const ddv& s : part) total = dd_add(total, s);
  return total.hi + total.lo;
}

line_search_result reference_line_search(const sorted_sample& sample, const format_spec& f,
                                         const line_search_options& opt) {
  if (opt.num_candidates < 1) throw error("reference line search: num_candidates must be >= 1");
  if (sample.min() >= 0.0)
    throw error(
        "reference line search: one-sided sample (min >= 0); the reference then searches "
        "[0, t] with an unsigned integer quantizer, which is not reproduced here");
  line_search_result r;
  // 1. Search range exactly as LineSearchEstimator: ((absmax + margin)·expand)/num_candidates.
  r.absmax = std::max(std::fabs(sample.min()), sample.max());
  r.step = (r.absmax + opt.range_margin) * opt.expand_range / opt.num_candidates;
  const int nk = opt.num_candidates;
  reference_candidate_params(f, r.step);  // throws here, outside the parallel loop
  // 2. Fast loss of every candidate t_k = step·k, all grids together (nearest_point_losses).
  r.losses.assign(static_cast<std::size_t>(nk), 0.0);
  std::vector<std::vector<double>> grids(static_cast<std::size_t>(nk));
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
  for (int k = 1; k <= nk; ++k)
    grids[static_cast<std::size_t>(k - 1)] = grid(reference_candidate_params(f, r.step * k));
  sample.nearest_point_losses(grids, r.losses.data());
  // 3. Near-ties (within recheck_rel of the best) are re-evaluated the reference's way and decided
  //    on those values, ties (within tie_rel) going to the smallest k like numpy's argmin on equal
  //    losses. A lone best candidate needs no recheck: its fast loss is the exact Σ(x − g)² to far
  //    better than tie_rel.
  const double best = *std::min_element(r.losses.begin(), r.losses.end());
  for (int k = 1; k <= nk; ++k)
    if (r.losses[static_cast<std::size_t>(k - 1)] <= best * (1.0 + opt.recheck_rel))
      r.rechecked.push_back(k);
  if (r.rechecked.size() == 1) {
    r.k = r.rechecked.front();
    r.loss = best;
    r.rechecked.clear();
  } else {
    std::vector<double> direct;
    for (int k : r.rechecked)
      direct.push_back(reference_loss(sample.values().data(), sample.size(),
                                      reference_candidate_params(f, r.step * k)));
    const double dmin = *std::min_element(direct.begin(), direct.end());
    for (std::size_t i = 0; i < direct.size(); ++i) {
      if (direct[i] <= dmin * (1.0 + opt.tie_rel)) {
        r.k = r.rechecked[i];
        r.loss = direct[i];
        break;
      }
    }
  }
  // 4. The reference returns (step·k*) cast to float32.
  r.maxval = static_cast<double>(static_cast<float>(r.step * r.k));
  return r;
}

line_search_result reference_line_search(std::vector<double> sample, const format_spec& f,
                                         const line_search_options& opt) {
  return reference_line_search(sorted_sample(std::move(sample)), f, opt);
}

std::vector<double> paper_sample(const std::string& which, std::size_t n, unsigned seed) {
  numpy_legacy_rng rng(seed);
  if (which == "uniform") return rng.uniform(-1.0, 1.0, n);
  std::vector<double> v;
  if (which == "normal") {
    v = rng.normal(0.0, 1.0, n);
    clip(v, -10.0, 10.0);
  } else if (which == "student_t") {
    v = rng.standard_t(8.0, n);
    clip(v, -100.0, 100.0);
  } else {
    throw error("paper sample '" + which + "': expected uniform, normal or student_t");
  }
  return v;
}

}  // namespace exmy
