// exmy/random/numpy_legacy.hpp — numpy's legacy global generator (np.random.seed / RandomState),
// reproduced bit for bit so that the paper's 5M-value samples (reference-spec §1) can be drawn in
// C++.
//
// RandomState is MT19937 (Matsumoto & Nishimura 1998) plus the "legacy" distribution algorithms
// that numpy keeps frozen for stream compatibility: 53-bit doubles from two 32-bit words, the
// Marsaglia polar Gaussian with one cached value, Marsaglia–Tsang gamma (shape > 1), a
// power-law/exponential rejection sampler (shape < 1) and Student-t as a Gaussian over a scaled
// gamma. Written from the published algorithms and checked against Debian's python3-numpy
// (tests/test_numpy_legacy.cpp); numpy's code is not used. The transcendental calls (log, sqrt,
// pow) are the C library's, as in numpy, so the streams match where numpy runs on the same libm.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace exmy {

/// The state of numpy's legacy RandomState: the MT19937 key, the position in it and the cached
/// second Gaussian of the polar method.
class numpy_legacy_rng {
 public:
  static constexpr int state_words = 624;

  /// Same stream as `np.random.seed(seed)` (an integer seed initialises MT19937 with init_genrand).
  explicit numpy_legacy_rng(std::uint32_t seed = 0) { reseed(seed); }

  /// Re-seeds like `np.random.seed(seed)`; also drops the cached Gaussian.
  void reseed(std::uint32_t seed);

  /// The next tempered 32-bit MT19937 output.
  std::uint32_t next_u32() {
    if (pos_ >= state_words) refill();
    return out_[pos_++];
  }
  /// `random_sample()`: (a·2^26 + b)/2^53 from a = u32>>5, b = u32>>6; uniform on [0, 1).
  double random_sample() {
    // 27 + 26 bits: a·2^26 + b < 2^53 is exact, the division by 2^53 too.
    const std::uint32_t a = next_u32() >> 5;
    const std::uint32_t b = next_u32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  /// The legacy polar-method standard Gaussian (`standard_normal()`); the second value of each pair
  /// is cached and returned by the next call.
  double gauss();
  /// `standard_exponential()` = −log(1 − random_sample()).
  double standard_exponential();
  /// `standard_gamma(shape)` (legacy algorithms; shape ≥ 0).
  double standard_gamma(double shape);
  /// `standard_t(df)` = sqrt(df/2)·Z / sqrt(Gamma(df/2)), Z drawn before the gamma variate.
  double standard_t(double df);

  /// `uniform(lo, hi, n)` = lo + (hi − lo)·random_sample(), n values in order.
  std::vector<double> uniform(double lo, double hi, std::size_t n);
  /// `normal(mu, sigma, n)` = mu + sigma·gauss(), n values in order.
  std::vector<double> normal(double mu, double sigma, std::size_t n);
  /// `standard_t(df, n)`: n values in order.
  std::vector<double> standard_t(double df, std::size_t n);

  /// The raw key words (for comparing with `np.random.get_state()[1]`).
  const std::array<std::uint32_t, state_words>& key() const { return mt_; }
  int position() const { return pos_; }
  bool has_gauss() const { return has_gauss_; }

 private:
  // Twists the key and tempers all 624 outputs at once (both loops vectorize).
  void refill();
  double gamma_mt(double b, double c);  // Marsaglia–Tsang with d = b, c = 1/sqrt(9b)
  std::array<std::uint32_t, state_words> mt_{};
  std::array<std::uint32_t, state_words> out_{};  // tempered mt_
  int pos_ = state_words;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

/// `np.clip(v, lo, hi)` in place.
void clip(std::vector<double>& v, double lo, double hi);

}  // namespace exmy
