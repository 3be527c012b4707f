// exmy/distributions/sampler.hpp — exact samplers for the distributions of the analytic engine
// (issue 4 of exmy, "Exact samplers"): sample i of a stream is a pure function draw(sp, seed, i)
// of the trivially copyable sampler_params, identical on the CPU, in SIMD lanes and on the GPU.
//
//   exmy::sampler_params sp = exmy::make_sampler_params(d);   // d: exmy::distribution
//   double x = exmy::draw(sp, seed, i);                        // stream 0 (X)
//
// The methods (counter layout: random/uniform_bits.hpp; elementary functions: elementary.hpp):
//  uniform    x = mid + half·v, v in (−1, 1) with 53 bits; truncation shrinks [mid ± half].
//             Two samples per Philox call (j = i/2).
//  normal     Box–Muller: ρ = √(−2 log u), u in (0, 1] (53 bits: radius up to 8.57σ, the tail is
//             not cut at 6.7σ), angle πv; sample 2j is mu + σρ·cos, 2j+1 is mu + σρ·sin of call j.
//  student_t  Bailey's polar method (Math. Comp. 62 (1994) 779–781): for (U, V) uniform in the
//             unit disc and W = U² + V², T = U·√(ν(W^(−2/ν) − 1)/W) is t_ν, any ν > 0. The disc
//             point is drawn in polar form, W uniform on (0, 1] and the angle πv independent of it
//             (the law of a uniform disc point), so no rejection is needed:
//             T = cos(πv)·√(ν·expm1(−(2/ν) log W)). One sample per call.
//  laplace    inverse cdf of the two exponential halves: z = ±(a − log(1 − u·c)), the side chosen
//             with probability w⁻ by a second uniform; truncation sets a, c, w⁻ (exact, no
//             rejection). One sample per call.
//  empirical  resampling: index = first + ⌊k·count/2^64⌋ for a 64-bit word k (bias ≤ count/2^64).
// Clipping is min/max after the draw (X = clip(Y, lo, hi), the masses of the analytic engine).
// Truncation of normal and student_t is rejection: attempt a of sample i uses counter word 3 = a,
// so a retried sample stays a function of (seed, i); make_sampler_params refuses a truncation that
// keeps less than 10^−4 of the mass (the expected attempts would exceed 10^4).
#pragma once

#include <cstdint>

#include "exmy/config.hpp"
#include "exmy/random/elementary.hpp"
#include "exmy/random/uniform_bits.hpp"

namespace exmy {

class distribution;

enum class sampler_kind : std::uint8_t { uniform, normal, student_t, laplace, empirical };

/// Everything a sampler needs, by value (host and device). Build with make_sampler_params.
struct sampler_params {
  sampler_kind kind = sampler_kind::normal;
  std::uint8_t rejects = 0;   ///< 1: truncation by rejection (normal, student_t)
  double loc = 0;             ///< x = loc + scale·z (uniform: the middle)
  double scale = 1;           ///< (uniform: the half width)
  double nu = 1;              ///< student_t: degrees of freedom
  double neg2_over_nu = -2;   ///< student_t: −2/ν
  double lap_w_neg = 0.5;     ///< laplace: probability of the negative side
  double lap_a_neg = 0, lap_c_neg = 1;  ///< negative side: z = −(a − log(1 − u·c))
  double lap_a_pos = 0, lap_c_pos = 1;  ///< positive side: z = a − log(1 − u·c)
  double acc_lo = -elem::detail::k_inf;  ///< rejection window (truncation by rejection)
  double acc_hi = elem::detail::k_inf;
  double clip_lo = -elem::detail::k_inf;  ///< clip window (clipping; a rounding guard for
  double clip_hi = elem::detail::k_inf;   ///<  truncation by inverse cdf)
  const double* values = nullptr;  ///< empirical: sorted sample (owned by the distribution)
  std::uint64_t first = 0;         ///< empirical: first index resampled
  std::uint64_t count = 0;         ///< empirical: number of indices resampled
};

/// The sampler of a distribution (uniform, normal, student_t, laplace, empirical; clipped or
/// truncated). Throws exmy::error for a generic law, or for a rejection-truncation that keeps less
/// than 10^−4 of the mass. An empirical sampler points into d's data: keep d alive.
sampler_params make_sampler_params(const distribution& d);

/// Samples per Philox call: 2 for uniform, normal, empirical; 1 for student_t and laplace.
EXMY_FORCEINLINE EXMY_HOST_DEVICE int samples_per_call(sampler_kind k) {
  return (k == sampler_kind::student_t || k == sampler_kind::laplace) ? 1 : 2;
}

namespace detail {
EXMY_FORCEINLINE EXMY_HOST_DEVICE std::uint64_t mulhi64(std::uint64_t a, std::uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#endif
}
}  // namespace detail

/// One call of the sampler of kind K: the raw candidates (before clipping and the rejection
/// window) of samples per_call·j … per_call·j + per_call − 1, attempt a. out1 is left unchanged
/// when K gives one sample.
template <sampler_kind K>
EXMY_FORCEINLINE EXMY_HOST_DEVICE void sampler_call(const sampler_params& sp, std::uint64_t seed,
                                                    std::uint32_t stream, std::uint64_t j,
                                                    std::uint32_t a, double& out0, double& out1) {
  const philox_out w = mc_words(seed, stream, j, a);
  if constexpr (K == sampler_kind::uniform) {
    out0 = sp.loc + sp.scale * u_sym(w.v[0], w.v[1]);
    out1 = sp.loc + sp.scale * u_sym(w.v[2], w.v[3]);
  } else if constexpr (K == sampler_kind::normal) {
    const double u = u01_oc(w.v[0], w.v[1]);
    const double v = u_sym(w.v[2], w.v[3]);
    const double rho = elem::sqrt(-2.0 * elem::log(u));
    double s, c;
    elem::sincospi(v, s, c);
    out0 = sp.loc + sp.scale * (rho * c);
    out1 = sp.loc + sp.scale * (rho * s);
  } else if constexpr (K == sampler_kind::student_t) {
    const double W = u01_oc(w.v[0], w.v[1]);
    double s, c;
    elem::sincospi(u_sym(w.v[2], w.v[3]), s, c);  // cos(πv) ≠ 0: v is never ±1/2
    // W^(−2/ν) − 1 as expm1: no cancellation near the rim of the disc (W → 1). Overflow to inf
    // (only for ν < 0.21) gives ±inf, which a clip or truncation then handles.
    const double g = elem::expm1(sp.neg2_over_nu * elem::log(W));
    out0 = sp.loc + sp.scale * (c * elem::sqrt(sp.nu * g));
  } else if constexpr (K == sampler_kind::laplace) {
    const double u = u01_co(w.v[0], w.v[1]);
    const bool neg = u01_co(w.v[2], w.v[3]) < sp.lap_w_neg;
    const double av = neg ? sp.lap_a_neg : sp.lap_a_pos;
    const double cv = neg ? sp.lap_c_neg : sp.lap_c_pos;
    const double e = av - elem::log(1.0 - u * cv);  // 1 − u·c > 0 (u < 1, c ≤ 1)
    out0 = sp.loc + sp.scale * (neg ? -e : e);
  } else {  // empirical
    const std::uint64_t k0 = (std::uint64_t{w.v[0]} << 32) | w.v[1];
    const std::uint64_t k1 = (std::uint64_t{w.v[2]} << 32) | w.v[3];
    out0 = sp.values[sp.first + detail::mulhi64(k0, sp.count)];
    out1 = sp.values[sp.first + detail::mulhi64(k1, sp.count)];
  }
}

/// True when candidate v passes the rejection window (NaN never does).
EXMY_FORCEINLINE EXMY_HOST_DEVICE bool sampler_accepts(const sampler_params& sp, double v) {
  return v >= sp.acc_lo && v <= sp.acc_hi;
}

/// An accepted candidate clipped to the clip window.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double sampler_clip(const sampler_params& sp, double v) {
  v = v < sp.clip_lo ? sp.clip_lo : v;
  return v > sp.clip_hi ? sp.clip_hi : v;
}

/// Candidate of sample i (stream, attempt a) for kind K: half i mod 2 of call i/2, or call i.
template <sampler_kind K>
EXMY_FORCEINLINE EXMY_HOST_DEVICE double sampler_candidate(const sampler_params& sp,
                                                           std::uint64_t seed,
                                                           std::uint32_t stream, std::uint64_t i,
                                                           std::uint32_t a) {
  double v0 = 0, v1 = 0;
  if constexpr (K == sampler_kind::student_t || K == sampler_kind::laplace) {
    sampler_call<K>(sp, seed, stream, i, a, v0, v1);
    return v0;
  } else {
    sampler_call<K>(sp, seed, stream, i >> 1, a, v0, v1);
    return (i & 1u) ? v1 : v0;
  }
}

/// Sample i of a stream for kind K: the first accepted attempt, clipped.
template <sampler_kind K>
EXMY_HOST_DEVICE inline double draw(const sampler_params& sp, std::uint64_t seed,
                                    std::uint64_t i, std::uint32_t stream = stream_x) {
  for (std::uint32_t a = 0;; ++a) {
    const double v = sampler_candidate<K>(sp, seed, stream, i, a);
    // 2^32 − 1 rejections cannot happen (acceptance ≥ 10^−4); NaN marks it rather than a hang.
    if (sampler_accepts(sp, v) || a == 0xffffffffu) return sampler_clip(sp, v);
  }
}

/// Sample i of a stream (runtime kind): the definition every Monte-Carlo path reproduces.
EXMY_HOST_DEVICE inline double draw(const sampler_params& sp, std::uint64_t seed, std::uint64_t i,
                                    std::uint32_t stream = stream_x) {
  switch (sp.kind) {
    case sampler_kind::uniform: return draw<sampler_kind::uniform>(sp, seed, i, stream);
    case sampler_kind::student_t: return draw<sampler_kind::student_t>(sp, seed, i, stream);
    case sampler_kind::laplace: return draw<sampler_kind::laplace>(sp, seed, i, stream);
    case sampler_kind::empirical: return draw<sampler_kind::empirical>(sp, seed, i, stream);
    case sampler_kind::normal:
    default: return draw<sampler_kind::normal>(sp, seed, i, stream);
  }
}

}  // namespace exmy
