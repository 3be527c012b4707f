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

// LSD radix sort of doubles (6 passes of 11 bits on order-preserving integer keys): ~5× faster
// than std::sort on 5M values; any correct sort gives the same sequence.
void radix_sort(std::vector<double>& v) {
  // The keys live in v's own storage (memcpy is the defined way to reinterpret the bits).
  constexpr std::uint64_t sign = std::uint64_t{1} << 63;
  const std::size_t n = v.size();
  auto key = [&](std::size_t i) {
    std::uint64_t u;
    std::memcpy(&u, &v[i], sizeof u);
    return u;
  };
  auto set = [&](std::size_t i, std::uint64_t u) { std::memcpy(&v[i], &u, sizeof u); };
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t u = key(i);
    set(i, (u & sign) ? ~u : (u | sign));  // negative: flip all bits; positive: set the sign bit
  }
  constexpr int bits = 11, passes = 6;
  constexpr std::size_t buckets = std::size_t{1} << bits;
  std::vector<std::size_t> count(passes * buckets, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t u = key(i);
    for (int p = 0; p < passes; ++p) ++count[p * buckets + ((u >> (p * bits)) & (buckets - 1))];
  }
  std::vector<double> other(n);
  for (int p = 0; p < passes; ++p) {
    std::size_t* c = &count[p * buckets];
    if (*std::max_element(c, c + buckets) == n) continue;  // this digit is the same everywhere
    std::size_t sum = 0;
    for (std::size_t d = 0; d < buckets; ++d) sum += std::exchange(c[d], sum);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t u = key(i);
      std::memcpy(&other[c[(u >> (p * bits)) & (buckets - 1)]++], &u, sizeof u);
    }
    v.swap(other);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t u = key(i);
    set(i, (u & sign) ? (u & ~sign) : ~u);
  }
}

}  // namespace

sorted_sample::sorted_sample(std::vector<double> values) : x_(std::move(values)) {
  if (x_.empty()) throw error("reference line search: empty sample");
  for (double v : x_)
    if (!std::isfinite(v)) throw error("reference line search: the sample holds NaN or inf");
  radix_sort(x_);
  for (std::size_t i = 0; i < x_.size(); i += stride) coarse_.push_back(x_[i]);
  for (std::size_t i = 0; i < coarse_.size(); i += stride) top_.push_back(coarse_[i]);
  // 1. Sums of each block of `block` values (independent: both cores, no long dependency chain),
  //    stored one entry late so that step 2 can turn them into exclusive prefix sums in place.
  const std::size_t n = x_.size(), nb = n / block + 1;
  prefix_.assign(nb + 1, prefix{});
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(nb); ++b) {
    ddv s1{0, 0}, s2{0, 0};
    const std::size_t lo = static_cast<std::size_t>(b) * block, hi = std::min(n, lo + block);
    for (std::size_t i = lo; i < hi; ++i) {
      s1 = dd_add(s1, x_[i]);
      s2 = dd_add(s2, two_prod(x_[i], x_[i]));
    }
    prefix_[static_cast<std::size_t>(b) + 1] = {s1.hi, s1.lo, s2.hi, s2.lo};
  }
  // 2. Running sums: entry b becomes the sums over x_[0, b·block).
  ddv s1{0, 0}, s2{0, 0};
  for (std::size_t b = 1; b <= nb; ++b) {
    s1 = dd_add(s1, ddv{prefix_[b].x_hi, prefix_[b].x_lo});
    s2 = dd_add(s2, ddv{prefix_[b].x2_hi, prefix_[b].x2_lo});
    prefix_[b] = {s1.hi, s1.lo, s2.hi, s2.lo};
  }
}

std::size_t sorted_sample::upper_index(double v) const {
  // Three levels, each narrowing to one window of `stride` values: a binary search in top_ (small,
  // cache-resident), then counts over one window of coarse_ and one of x_. A count reads its window
  // with independent loads, so each level costs about one memory latency instead of a chain of
  // dependent misses.
  std::size_t a =
      static_cast<std::size_t>(std::upper_bound(top_.begin(), top_.end(), v) - top_.begin());
  if (a == 0) return 0;  // v < x_[0]
  std::size_t lo = (a - 1) * stride;
  std::size_t c = lo + count_le(coarse_.data() + lo, std::min(coarse_.size(), lo + stride) - lo, v);
  lo = (c - 1) * stride;
  return lo + count_le(x_.data() + lo, std::min(x_.size(), lo + stride) - lo, v);
}

sorted_sample::prefix sorted_sample::prefix_at(std::size_t i) const {
  const std::size_t b = i / block;
  const prefix& p = prefix_[b];
  ddv s1{p.x_hi, p.x_lo}, s2{p.x2_hi, p.x2_lo};
  for (std::size_t j = b * block; j < i; ++j) {
    s1 = dd_add(s1, x_[j]);
    s2 = dd_add(s2, two_prod(x_[j], x_[j]));
  }
  return {s1.hi, s1.lo, s2.hi, s2.lo};
}

double sorted_sample::nearest_point_loss(const std::vector<double>& g) const {
  const std::size_t n = x_.size(), cells = g.size();
  ddv total{0, 0};
  std::size_t lo = 0;  // first sample of the current cell
  ddv lo_x{0, 0}, lo_x2{0, 0};
  for (std::size_t i = 0; i < cells && lo < n; ++i) {
    // Cell i is [mid(i−1), mid(i)); the samples in it are x_[lo, hi). A sample exactly on a
    // midpoint is equally far from both neighbours, so its side does not change the loss.
    std::size_t hi = n;
    if (i + 1 < cells) {
      const double mid = 0.5 * g[i] + 0.5 * g[i + 1];
      if (mid < x_[lo]) continue;
      if (mid < x_.back()) hi = upper_index(mid);
    }
    if (hi == lo) continue;
    const prefix h = prefix_at(hi);
    const ddv hx{h.x_hi, h.x_lo}, hx2{h.x2_hi, h.x2_lo};
    const ddv sx = dd_add(hx, dd_neg(lo_x));
    const ddv sx2 = dd_add(hx2, dd_neg(lo_x2));
    // Σ(x − g)² = Σx² − 2g·Σx + count·g²  (2g is exact).
    const ddv cross = dd_mul(sx, -2.0 * g[i]);
    const ddv sq = dd_mul(two_prod(g[i], g[i]), static_cast<double>(hi - lo));
    total = dd_add(total, dd_add(dd_add(sx2, cross), sq));
    lo = hi;
    lo_x = hx;
    lo_x2 = hx2;
  }
  return total.hi + total.lo;
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
  // 2. Fast loss of every candidate t_k = step·k.
  r.losses.assign(static_cast<std::size_t>(nk), 0.0);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 8)
#endif
  for (int k = 1; k <= nk; ++k) {
    const quant_params p = reference_candidate_params(f, r.step * k);
    r.losses[static_cast<std::size_t>(k - 1)] = sample.nearest_point_loss(grid(p));
  }
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
