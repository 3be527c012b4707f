// exmy/random/numpy_legacy.cpp — MT19937 and numpy's frozen legacy distributions (see the header).
#include "exmy/random/numpy_legacy.hpp"

#include <algorithm>
#include <cmath>

namespace exmy {

namespace {
// MT19937 constants (Matsumoto & Nishimura 1998, Table 2 and the tempering of §2).
constexpr int mt_n = numpy_legacy_rng::state_words;
constexpr int mt_m = 397;
constexpr std::uint32_t matrix_a = 0x9908b0dfu;
constexpr std::uint32_t upper_mask = 0x80000000u;
constexpr std::uint32_t lower_mask = 0x7fffffffu;

inline std::uint32_t twist(std::uint32_t hi_word, std::uint32_t lo_word, std::uint32_t far) {
  const std::uint32_t y = (hi_word & upper_mask) | (lo_word & lower_mask);
  return far ^ (y >> 1) ^ ((y & 1u) ? matrix_a : 0u);
}
}  // namespace

void numpy_legacy_rng::reseed(std::uint32_t seed) {
  // init_genrand (Knuth's multiplier 1812433253); numpy uses it for an integer seed, not
  // init_by_array (checked against np.random.get_state() in the tests).
  mt_[0] = seed;
  for (int i = 1; i < mt_n; ++i) {
    const std::uint32_t prev = mt_[i - 1];
    mt_[i] = 1812433253u * (prev ^ (prev >> 30)) + static_cast<std::uint32_t>(i);
  }
  pos_ = mt_n;
  has_gauss_ = false;
  gauss_ = 0.0;
}

void numpy_legacy_rng::refill() {
  int k = 0;
  for (; k < mt_n - mt_m; ++k) mt_[k] = twist(mt_[k], mt_[k + 1], mt_[k + mt_m]);
  for (; k < mt_n - 1; ++k) mt_[k] = twist(mt_[k], mt_[k + 1], mt_[k + mt_m - mt_n]);
  mt_[mt_n - 1] = twist(mt_[mt_n - 1], mt_[0], mt_[mt_m - 1]);
  for (int i = 0; i < mt_n; ++i) {
    std::uint32_t y = mt_[i];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    out_[i] = y;
  }
  pos_ = 0;
}

double numpy_legacy_rng::gauss() {
  if (has_gauss_) {
    has_gauss_ = false;
    const double cached = gauss_;
    gauss_ = 0.0;
    return cached;
  }
  // Marsaglia polar method: a point uniform in the unit disc (0 excluded) gives two independent
  // normals f·x1 and f·x2; numpy returns f·x2 first and caches f·x1.
  double x1, x2, r2;
  do {
    x1 = 2.0 * random_sample() - 1.0;
    x2 = 2.0 * random_sample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return f * x2;
}

double numpy_legacy_rng::standard_exponential() { return -std::log(1.0 - random_sample()); }

double numpy_legacy_rng::standard_gamma(double shape) {
  if (shape == 1.0) return standard_exponential();
  if (shape == 0.0) return 0.0;
  if (shape < 1.0) {
    // Rejection from a power-law body near 0 and an exponential tail, as frozen in numpy's legacy
    // stream: U picks the branch and the candidate, an exponential V decides the acceptance.
    for (;;) {
      const double u = random_sample();
      const double v = standard_exponential();
      if (u <= 1.0 - shape) {
        const double x = std::pow(u, 1.0 / shape);
        if (x <= v) return x;
      } else {
        const double y = -std::log((1.0 - u) / shape);
        const double x = std::pow(1.0 - shape + shape * y, 1.0 / shape);
        if (x <= v + y) return x;
      }
    }
  }
  // Marsaglia & Tsang (2000): d = shape − 1/3, c = 1/sqrt(9d).
  const double b = shape - 1.0 / 3.0;
  return gamma_mt(b, 1.0 / std::sqrt(9.0 * b));
}

double numpy_legacy_rng::gamma_mt(double b, double c) {
  // X normal, V = (1 + cX)^3; the squeeze constant 0.0331 and the evaluation order are those of
  // the legacy stream.
  for (;;) {
    double x, v;
    do {
      x = gauss();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = random_sample();
    if (u < 1.0 - 0.0331 * (x * x) * (x * x)) return b * v;
    if (std::log(u) < 0.5 * x * x + b * (1.0 - v + std::log(v))) return b * v;
  }
}

double numpy_legacy_rng::standard_t(double df) {
  const double num = gauss();
  const double denom = standard_gamma(df / 2.0);
  return std::sqrt(df / 2.0) * num / std::sqrt(denom);
}

std::vector<double> numpy_legacy_rng::uniform(double lo, double hi, std::size_t n) {
  const double range = hi - lo;
  std::vector<double> out(n);
  for (double& v : out) v = lo + range * random_sample();
  return out;
}

std::vector<double> numpy_legacy_rng::normal(double mu, double sigma, std::size_t n) {
  std::vector<double> out(n);
  for (double& v : out) v = mu + sigma * gauss();
  return out;
}

std::vector<double> numpy_legacy_rng::standard_t(double df, std::size_t n) {
  std::vector<double> out(n);
  const double shape = df / 2.0;
  if (!(shape > 1.0)) {
    for (double& v : out) v = standard_t(df);
    return out;
  }
  // standard_t(df) with the per-draw constants of its gamma variate and sqrt(df/2) computed once
  // (the same values).
  const double b = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * b), root = std::sqrt(shape);
  for (double& v : out) {
    const double num = gauss();
    v = root * num / std::sqrt(gamma_mt(b, c));
  }
  return out;
}

void clip(std::vector<double>& v, double lo, double hi) {
  for (double& x : v) x = std::min(std::max(x, lo), hi);
}

}  // namespace exmy
