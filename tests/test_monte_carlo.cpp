// The Monte-Carlo SQNR engine (sqnr/monte_carlo.hpp, issue 4 of exmy "Tests"): agreement with the
// closed forms of the analytic engine within 4 standard errors at 10^7 samples for every paper
// cell and every 8-bit split (total and in-range part; see check_against_analytic for the rare
// heavy clipping regions), rounding modes and other laws; reproducibility (same bits for 1, 2
// and 7 threads, for two runs, for the baseline and AVX2 builds, and equal to a plain loop over
// draw() + quantize_value); undefined intervals; the dot product of length K against
// K·E[e²] + K(K−1)·E[e]².
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "exmy/distributions/distribution.hpp"
#include "exmy/distributions/sampler.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/sqnr/monte_carlo.hpp"
#include "exmy/sqnr/report.hpp"

using namespace exmy;

namespace {

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}

bool same_sums(const mc_sums& a, const mc_sums& b) {
  return a.n == b.n && bits(a.e) == bits(b.e) && bits(a.ee) == bits(b.ee) &&
         bits(a.xe) == bits(b.xe) && bits(a.xx) == bits(b.xx) && bits(a.e4) == bits(b.e4) &&
         bits(a.x) == bits(b.x) && a.n_clip == b.n_clip && bits(a.ee_clip) == bits(b.ee_clip) &&
         bits(a.e4_clip) == bits(b.e4_clip);
}

// MC against the closed form, part by part (analytic.hpp's decomposition at the grid's end
// points). The in-range part has bounded errors: |z| < 4 always. The total is held to |z| < 4
// unless the clipping region is both rare (fewer than 30 expected samples) and heavy (its analytic
// share exceeds one standard error): then the estimator's law is Poisson-skewed — most runs see
// none of the rare large errors and land low by clip_mse, while the sample-based standard error
// cannot know about them (e.g. Student-t(8) at E3M4's optimal maxval 21.4: 0.24 expected clipped
// samples per 10^7, contributing 5.5e-7 = 2.6 standard errors) — and the number of clipped
// samples is checked against its Poisson law instead. Returns the total's z.
double check_against_analytic(const distribution& d, const quant_params& p,
                              const error_moments& an, const mc_result& r) {
  const double n = static_cast<double>(r.samples);
  const double lambda = n * (ccdf(d, p.maxval) + cdf(d, std::nextafter(p.minval, -INFINITY)));
  const double z = z_score(r, an.mse);
  const double z_inner = (r.inner_mse - (an.mse - an.clip_mse)) / r.inner_se;
  CAPTURE(z);
  CAPTURE(z_inner);
  CAPTURE(lambda);
  CHECK(std::fabs(z_inner) < 4);
  if (lambda >= 30 || an.clip_mse <= r.se) {
    CHECK(std::fabs(z) < 4);
    if (lambda >= 30) CHECK(std::fabs((r.clip_mse - an.clip_mse) / r.clip_se) < 4);
  } else {
    const double k = static_cast<double>(r.sums.n_clip);
    MESSAGE(to_string(d) << ": rare heavy clipping region (" << lambda << " expected, " << k
                         << " drawn): total z " << z << ", in-range z " << z_inner);
    CHECK(std::fabs(k - lambda) <= 5 * std::sqrt(lambda) + 3);
  }
  return z;
}

// The analytic record at the MSE-optimal maxval (range_optimal.hpp).
sqnr_record optimal_record(const distribution& d, const format_spec& f,
                           rounding r = rounding::rne) {
  evaluate_options eo;
  eo.method = range_method::optimal;
  eo.mode = r;
  return evaluate(d, f, eo);
}

mc_result run(const distribution& d, const quant_params& p, std::uint64_t n, std::uint64_t seed,
              int threads = 2, rounding r = rounding::rne) {
  mc_options o;
  o.samples = n;
  o.seed = seed;
  o.threads = threads;
  o.mode = r;
  return monte_carlo_mse(d, p, o);
}

// The definition the engine must reproduce: a plain loop over draw() and the scalar rule with the
// documented fold (lane i mod 8 within blocks of mc_block_len, lanes 0…7, blocks, chunks of at
// most mc_max_batches).
mc_sums reference_sums(const distribution& d, const quant_params& p, std::uint64_t n,
                       std::uint64_t seed, rounding r) {
  const sampler_params sp = make_sampler_params(d);
  const std::uint64_t nb = (n + mc_block_len - 1) / mc_block_len;
  const std::uint64_t cb = (nb + mc_max_batches - 1) / mc_max_batches;
  mc_sums total, chunk;
  for (std::uint64_t b = 0; b < nb; ++b) {
    double lane[9][8] = {};
    const std::uint64_t start = b * mc_block_len, end = std::min(start + mc_block_len, n);
    for (std::uint64_t i = start; i < end; ++i) {
      const double x = draw(sp, seed, i);
      const std::uint32_t u = r == rounding::stochastic ? mc_sr_word(seed, stream_x, i) : 0;
      const double e = quantize_value(x, p, r, u) - x;
      const int l = static_cast<int>((i - start) % 8);
      lane[0][l] += e;
      lane[1][l] += e * e;
      lane[2][l] += x * e;
      lane[3][l] += x * x;
      lane[4][l] += (e * e) * (e * e);
      lane[5][l] += x;
      const bool clip = x > p.maxval || x < p.minval;
      lane[6][l] += clip ? 1.0 : 0.0;
      lane[7][l] += clip ? e * e : 0.0;
      lane[8][l] += clip ? (e * e) * (e * e) : 0.0;
    }
    mc_sums blk;
    blk.n = end - start;
    for (int l = 0; l < 8; ++l) {
      blk.e += lane[0][l];
      blk.ee += lane[1][l];
      blk.xe += lane[2][l];
      blk.xx += lane[3][l];
      blk.e4 += lane[4][l];
      blk.x += lane[5][l];
      blk.n_clip += static_cast<std::uint64_t>(lane[6][l]);
      blk.ee_clip += lane[7][l];
      blk.e4_clip += lane[8][l];
    }
    accumulate(chunk, blk);
    if ((b + 1) % cb == 0 || b + 1 == nb) {
      accumulate(total, chunk);
      chunk = mc_sums{};
    }
  }
  return total;
}

}  // namespace

TEST_CASE("MC vs analytic: every paper cell and every 8-bit split within 4 standard errors") {
  // The paper's three laws (reference-spec §1) × E1M6…E6M1 and INT8 (the paper's cells are the
  // 15 with E5M2…E2M5 and INT8), each at its MSE-optimal maxval, 10^7 samples.
  const char* const dists[] = {"uniform:lo=-1,hi=1", "normal:mu=0,sigma=1,clip=10",
                               "student_t:nu=8,clip=100"};
  const char* const formats[] = {"e1m6", "e2m5", "e3m4", "e4m3", "e5m2", "e6m1", "int8"};
  double worst = 0;
  for (const char* ds : dists)
    for (const char* fs : formats) {
      CAPTURE(std::string(ds));
      CAPTURE(std::string(fs));
      const distribution d = parse_distribution(ds);
      const format_spec f = parse_format(fs);
      const sqnr_record rec = optimal_record(d, f);
      const quant_params p = make_params(f, rec.maxval);
      const mc_result r = run(d, p, 10000000, 1);
      REQUIRE(r.ci_defined);
      const double z = check_against_analytic(d, p, rec.moments, r);
      worst = std::max(worst, std::fabs(z));
      CHECK(r.ci95_lo < r.mse);
      CHECK(r.mse < r.ci95_hi);
      // The two standard errors agree (batch means over ~800 chunks: ±5 % sampling noise).
      CHECK(std::fabs(r.batch_se / r.se - 1) < 0.25);
      // The other moments too: E[X(Q−X)] and E[X²] (sampler check).
      CHECK(std::fabs(r.second_moment - rec.moments.second_moment) <
            1e-2 * rec.moments.second_moment);
    }
  MESSAGE("largest |z| of the total over the 21 cells: " << worst);
}

TEST_CASE("MC vs analytic: rounding modes, other laws, truncation, empirical") {
  struct c {
    const char* dist;
    const char* fmt;
    rounding r;
  };
  const c cases[] = {
      {"normal:mu=0,sigma=1,clip=10", "e4m3", rounding::rtz},
      {"normal:mu=0,sigma=1,clip=10", "e3m4", rounding::rna},
      {"normal:mu=0,sigma=1,clip=10", "e4m3", rounding::stochastic},
      {"student_t:nu=8,clip=100", "e2m5", rounding::stochastic},
      {"uniform:lo=-1,hi=1", "int8", rounding::rtz},
      {"laplace:b=1", "e4m3", rounding::rne},
      {"laplace:b=1,trunc_lo=-1,trunc_hi=3", "e3m4", rounding::rne},
      {"normal:mu=1,sigma=2,trunc_lo=-1,trunc_hi=4", "e4m3", rounding::rne},
      {"student_t:nu=5", "e4m3", rounding::rne},
      {"student_t:nu=3,trunc=20", "e5m2", rounding::rne},
      {"student_t:nu=1.5,clip=50", "e5m2", rounding::rtz},
      {"normal:mu=0,sigma=1", "e5m2", rounding::rna},
  };
  for (const c& cs : cases) {
    CAPTURE(std::string(cs.dist));
    CAPTURE(std::string(cs.fmt));
    CAPTURE(to_string(cs.r));
    const distribution d = parse_distribution(cs.dist);
    const format_spec f = parse_format(cs.fmt);
    const sqnr_record rec = optimal_record(d, f, cs.r);
    const quant_params p = make_params(f, rec.maxval);
    const mc_result r = run(d, p, 4000000, 3, 2, cs.r);
    check_against_analytic(d, p, rec.moments, r);
  }
  // An empirical law: the analytic MSE is an exact finite sum.
  std::vector<double> pts;
  for (int i = 0; i < 5000; ++i) pts.push_back(std::sin(0.37 * i) * (1 + (i % 7)));
  const distribution d = empirical(pts);
  const format_spec f = parse_format("e3m4");
  const sqnr_record rec = optimal_record(d, f);
  const quant_params p = make_params(f, rec.maxval);
  check_against_analytic(d, p, rec.moments, run(d, p, 4000000, 5));
}

TEST_CASE("MC: the same bits for 1, 2 and 7 threads, two runs, both SIMD builds, and draw()") {
  struct c {
    const char* dist;
    rounding r;
  };
  const c cases[] = {{"normal:mu=0,sigma=1,clip=10", rounding::rne},
                     {"student_t:nu=8,clip=100", rounding::stochastic},
                     {"normal:mu=0,sigma=1,trunc_lo=-1,trunc_hi=2", rounding::rtz},
                     {"laplace:b=1,trunc=3", rounding::rna},
                     {"uniform:lo=-1,hi=2", rounding::rne}};
  const format_spec f = parse_format("e4m3");
  for (const c& cs : cases) {
    CAPTURE(std::string(cs.dist));
    const distribution d = parse_distribution(cs.dist);
    const quant_params p = make_params(f, 5.0);
    const std::uint64_t n = 1000000 + 12345;  // a partial last block and an odd count
    const mc_result r1 = run(d, p, n, 42, 1, cs.r);
    CHECK(same_sums(r1.sums, run(d, p, n, 42, 2, cs.r).sums));
    CHECK(same_sums(r1.sums, run(d, p, n, 42, 7, cs.r).sums));
    CHECK(same_sums(r1.sums, run(d, p, n, 42, 1, cs.r).sums));
    CHECK(r1.sums.n == n);
    const mc_result other = run(d, p, n, 43, 2, cs.r);
    CHECK(bits(other.sums.ee) != bits(r1.sums.ee));
    if (simd_path_supported(simd_path::avx2)) {  // the baseline build against the AVX2 build
      set_simd_path(simd_path::scalar);
      const mc_result rs = run(d, p, n, 42, 2, cs.r);
      set_simd_path(simd_path::automatic);
      CHECK(same_sums(r1.sums, rs.sums));
    }
    // The engine's blocked draws (vector loops, compacted retries) equal draw() one by one.
    const std::uint64_t m = 3 * mc_block_len + 777;
    CHECK(same_sums(run(d, p, m, 42, 2, cs.r).sums, reference_sums(d, p, m, 42, cs.r)));
  }
}

TEST_CASE("MC: undefined interval where E[(Q-X)^4] is infinite, with the reason") {
  const format_spec f = parse_format("e4m3");
  const mc_result r = run(parse_distribution("student_t:nu=3"), make_params(f, 20), 100000, 1);
  CHECK_FALSE(r.ci_defined);
  CHECK(std::isnan(r.ci95_lo));
  CHECK(std::isnan(r.ci95_hi));
  CHECK(std::isnan(z_score(r, 1e-3)));
  CHECK(r.ci_reason.find("fourth moment") != std::string::npos);
  CHECK(r.mse > 0);  // the estimate itself exists (E[(Q−X)²] is finite for nu = 3)
  CHECK(std::isnan(r.sqnr_db_ci().first));
  // nu = 4 is the boundary (E[X^4] = ∞); nu = 4.5 and any clipped law are fine.
  CHECK_FALSE(run(parse_distribution("student_t:nu=4"), make_params(f, 20), 1000, 1).ci_defined);
  CHECK(run(parse_distribution("student_t:nu=4.5"), make_params(f, 20), 1000, 1).ci_defined);
  CHECK(run(parse_distribution("student_t:nu=3,clip=50"), make_params(f, 20), 1000, 1).ci_defined);
}

TEST_CASE("MC: SQNR conventions and their intervals") {
  const distribution d = parse_distribution("normal:mu=0,sigma=2,clip=10");
  const format_spec f = parse_format("e4m3");
  const mc_result r = run(d, make_params(f, 8), 1000000, 9);
  CHECK(r.signal_power == doctest::Approx(second_moment(d)).epsilon(1e-15));
  CHECK(r.sqnr_db() == doctest::Approx(10 * std::log10(second_moment(d) / r.mse)));
  CHECK(r.paper_db() == doctest::Approx(-10 * std::log10(r.mse)));
  const auto [lo, hi] = r.sqnr_db_ci();
  CHECK(lo < r.sqnr_db());
  CHECK(r.sqnr_db() < hi);
  const auto [plo, phi] = r.paper_db_ci();
  CHECK(plo < r.paper_db());
  CHECK(r.paper_db() < phi);
  CHECK_THROWS_AS(run(d, make_params(f, 8), 0, 1), error);
}

TEST_CASE("MC dot products: K·E[e²] + K(K−1)·E[e]² for K = 1 … 65536") {
  struct c {
    const char* dist;
    const char* fmt;
    rounding r;
    std::uint64_t k;
  };
  // RTZ, a non-zero mean and the asymmetric INT8 grid (−128Δ … 127Δ) give E[e] ≠ 0, where the
  // K(K−1) term dominates for long vectors.
  const c cases[] = {
      {"normal:mu=0,sigma=1,clip=10", "e4m3", rounding::rne, 1},
      {"normal:mu=0,sigma=1,clip=10", "e4m3", rounding::rne, 4096},
      {"student_t:nu=8,clip=100", "e3m4", rounding::rne, 7},
      {"normal:mu=0,sigma=1,clip=10", "e4m3", rounding::rtz, 64},
      {"normal:mu=0,sigma=1,clip=10", "e4m3", rounding::rtz, 65536},
      {"normal:mu=1,sigma=1", "e3m4", rounding::rne, 1000},
      {"uniform:lo=-1,hi=1", "int8", rounding::rne, 300},
      {"uniform:lo=0,hi=1", "int8", rounding::rtz, 65536},
  };
  for (const c& cs : cases) {
    CAPTURE(std::string(cs.dist));
    CAPTURE(std::string(cs.fmt));
    CAPTURE(cs.k);
    const distribution d = parse_distribution(cs.dist);
    const format_spec f = parse_format(cs.fmt);
    const sqnr_record rec = optimal_record(d, f, cs.r);
    const quant_params p = make_params(f, rec.maxval);
    mc_options o;
    o.samples = std::max<std::uint64_t>(64, 4000000 / cs.k);  // ≈ 4·10^6 elements per case
    o.seed = 11;
    o.threads = 2;
    o.mode = cs.r;
    const mc_dot_result r = monte_carlo_dot(d, p, d, p, cs.k, o);
    const double an = analytic_dot_mse(rec.moments, mean(d), rec.moments, mean(d), cs.k);
    REQUIRE(r.ci_defined);
    const double z = (r.mse - an) / r.se;
    MESSAGE(std::string(cs.dist) << " " << std::string(cs.fmt) << " "
                                 << std::string(to_string(cs.r)) << " K=" << cs.k << ": MC "
                                 << r.mse << " ± " << r.se << ", analytic " << an << ", z " << z);
    CHECK(std::fabs(z) < 4);
  }
  // Where E[e] ≠ 0 (a non-negative law under RTZ) the K(K−1)·E[e]² term dominates long vectors:
  // K·E[e²] alone would be off by orders of magnitude.
  {
    const distribution u = parse_distribution("uniform:lo=0,hi=1");
    const sqnr_record rec = optimal_record(u, parse_format("int8"), rounding::rtz);
    const double full = analytic_dot_mse(rec.moments, mean(u), rec.moments, mean(u), 65536);
    CHECK(full > 100 * 65536 * analytic_dot_mse(rec.moments, mean(u), rec.moments, mean(u), 1));
  }
  // Reproducible across threads.
  const distribution d = parse_distribution("normal:mu=0,sigma=1,clip=10");
  const format_spec f = parse_format("e4m3");
  mc_options o;
  o.samples = 5000;
  o.seed = 2;
  o.mode = rounding::rne;
  const quant_params p = make_params(f, 8);
  o.threads = 1;
  const mc_dot_result a = monte_carlo_dot(d, p, d, p, 333, o);
  o.threads = 7;
  const mc_dot_result b = monte_carlo_dot(d, p, d, p, 333, o);
  CHECK(bits(a.sum_dd) == bits(b.sum_dd));
  CHECK(bits(a.sum_d4) == bits(b.sum_d4));
  CHECK_THROWS_AS(monte_carlo_dot(d, p, d, p, 65537, o), error);
}
