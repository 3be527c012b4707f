// exmy/ptq/codes.cpp — group layouts, code encoding/decoding from bit fields, and the safetensors
// layout of exported codes (codes.hpp).
#include "exmy/ptq/codes.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "exmy/ptq/npy_format.hpp"
#include "exmy/ptq/tensor_source.hpp"

namespace exmy {
namespace {

constexpr int k_schema_version = 1;

std::uint32_t float_bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

// The exact value mag·2^exp (mag < 2^128), negated when neg, rounded once to float32 (round to
// nearest, ties to even, with subnormals and overflow to ±inf): the decoder's own rounding,
// independent of the quantizer's TwoProduct / round-to-odd route.
float round_to_float(unsigned __int128 mag, int exp, bool neg) {
  if (mag == 0) return neg ? -0.0f : 0.0f;
  int len = 0;
  for (unsigned __int128 m = mag; m; m >>= 1) ++len;
  const int top = exp + len - 1;  // value in [2^top, 2^(top+1))
  // Keep 24 significant bits for normal results; subnormals keep bits down to 2^−149.
  int shift = top >= -126 ? len - 24 : -149 - exp;
  unsigned __int128 q = mag;
  if (shift > len) {
    q = 0;  // below half the smallest subnormal
  } else if (shift > 0) {
    q = mag >> shift;
    const unsigned __int128 rem = mag - (q << shift);
    const unsigned __int128 half = static_cast<unsigned __int128>(1) << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
  } else {
    shift = 0;
  }
  // q ≤ 2^24 and the exponent lies in double's range: the double is exact; converting it to
  // float is exact too, or overflows to inf exactly when the rounded value reaches 2^128.
  const double v = std::ldexp(static_cast<double>(static_cast<std::uint64_t>(q)), exp + shift);
  const float f = static_cast<float>(v);
  return neg ? -f : f;
}

// Splits a finite double into an integer significand and exponent: |x| = mag·2^exp.
void split(double x, std::uint64_t& mag, int& exp) {
  int e = 0;
  const double m = std::frexp(std::fabs(x), &e);
  mag = static_cast<std::uint64_t>(std::ldexp(m, 53));
  exp = e - 53;
}

// RN_float(v·s) from the exact product of the two doubles.
float exact_product_to_float(double v, double s) {
  if (v == 0.0) return std::signbit(v) != std::signbit(s) ? -0.0f : 0.0f;
  std::uint64_t mv, ms;
  int ev, es;
  split(v, mv, ev);
  split(s, ms, es);
  return round_to_float(static_cast<unsigned __int128>(mv) * ms, ev + es,
                        std::signbit(v) != std::signbit(s));
}

bool is_signed_int(const format_spec& f) {
  return f.irange == int_range::paper || f.irange == int_range::narrow || f.irange == int_range::affine;
}

std::string fmt_json_name(const std::string& tensor_name) { return "exmy.codes." + tensor_name; }

// The group-dependent part of decoding.
struct group_scale {
  double scale = 1.0;  // exact: s; hardware: hw_div_f (a float value)
  std::int32_t zero_point = 0;
};

// Decoded float32 value of one code under the rules of codes.hpp.
float decode_value(const format_spec& f, std::uint32_t code, const group_scale& gs, scale_mode mode) {
  double v = decode_native(f, code);
  if (std::isnan(v)) return std::numeric_limits<float>::quiet_NaN();
  if (f.is_affine()) v -= gs.zero_point;
  if (std::isinf(v)) {
    const float inf = v > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    return mode == scale_mode::exact ? inf : inf * static_cast<float>(gs.scale);
  }
  if (mode == scale_mode::exact) return exact_product_to_float(v, gs.scale);
  return exact_product_to_float(v, 1.0) * static_cast<float>(gs.scale);
}

constexpr std::int64_t k_no_code = std::numeric_limits<std::int64_t>::min();

// The code nearest to the native value u (saturating), before verification.
std::int64_t nearest_code(const format_spec& f, double u, bool negative) {
  if (std::isnan(u)) {
    // 0/0: a hardware scale (float32) that underflowed to zero maps everything to ±0.
    if (f.is_float()) return f.is_signed && negative ? (std::int64_t{1} << (f.exp_bits + f.man_bits)) : 0;
    return 0;
  }
  if (!std::isfinite(u)) return k_no_code;  // the caller reports the element
  if (!f.is_float()) return static_cast<std::int64_t>(std::nearbyint(std::min(std::max(u, -1e9), 1e9)));
  const format_limits L = limits(f);
  const int M = f.man_bits, E = f.exp_bits;
  double a = std::fabs(u);
  std::int64_t mag = 0;
  if (a > 0) {
    int e = 0;
    std::frexp(a, &e);
    int eb = e - 1;  // a in [2^eb, 2^(eb+1))
    if (eb < L.emin) {
      mag = static_cast<std::int64_t>(std::nearbyint(std::ldexp(a, M - L.emin)));  // field 0
    } else {
      if (eb > L.emax) {  // beyond the top binade: the largest finite magnitude
        eb = L.emax;
        a = std::ldexp(double(L.max_significand), L.emax - M);
      }
      std::int64_t n = static_cast<std::int64_t>(std::nearbyint(std::ldexp(a, M - eb)));
      mag = (static_cast<std::int64_t>(eb + f.native_bias) << M) + (n - (std::int64_t{1} << M));
    }
    const std::int64_t top = (std::int64_t{1} << (E + M)) - 1;
    mag = std::min(std::max<std::int64_t>(mag, 0), top);
  }
  const bool sign = f.is_signed && negative;
  return (sign ? (std::int64_t{1} << (E + M)) : 0) | mag;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Group layouts

std::vector<std::int64_t> group_shape(const std::vector<std::int64_t>& shape, const group_layout& g) {
  if (g.axis < 0) return {};
  if (g.axis >= static_cast<int>(shape.size()))
    throw error("group layout: axis " + std::to_string(g.axis) + " outside a " +
                std::to_string(shape.size()) + "-dimensional tensor");
  if (g.block < 0) throw error("group layout: negative block size");
  if (g.block == 0) return {shape[g.axis]};
  std::vector<std::int64_t> s = shape;
  s[g.axis] = shape[g.axis] / g.block + (shape[g.axis] % g.block != 0);  // ceil, overflow-free
  return s;
}

std::int64_t group_count(const std::vector<std::int64_t>& shape, const group_layout& g) {
  std::int64_t n = 1;
  for (std::int64_t d : group_shape(shape, g)) n *= d;
  return n;
}

void for_each_group(const std::vector<std::int64_t>& shape, const group_layout& g,
                    const std::function<void(std::int64_t, std::int64_t, std::int64_t, std::int64_t)>& fn) {
  group_shape(shape, g);  // validates
  std::int64_t numel = 1;
  for (std::int64_t d : shape) numel *= d;
  if (numel == 0) return;
  if (g.axis < 0) {
    fn(0, 0, numel, 1);
    return;
  }
  // Element (o, a, i) of the view outer × A × inner sits at (o·A + a)·inner + i.
  std::int64_t outer = 1, inner = 1;
  for (int k = 0; k < g.axis; ++k) outer *= shape[k];
  for (std::size_t k = g.axis + 1; k < shape.size(); ++k) inner *= shape[k];
  const std::int64_t A = shape[g.axis];
  if (g.block == 0) {  // per channel: group a
    if (inner == 1) {
      for (std::int64_t a = 0; a < A; ++a) fn(a, a, outer, A);
    } else {
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t a = 0; a < A; ++a) fn(a, (o * A + a) * inner, inner, 1);
    }
    return;
  }
  const std::int64_t k = g.block, B = A / k + (A % k != 0);  // blocks: group (o, b, i)
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t len = std::min(k, A - b * k);
      for (std::int64_t i = 0; i < inner; ++i)
        fn((o * B + b) * inner + i, (o * A + b * k) * inner + i, len, inner);
    }
}

std::vector<std::int64_t> group_index(const std::vector<std::int64_t>& shape, const group_layout& g) {
  std::int64_t numel = 1;
  for (std::int64_t d : shape) numel *= d;
  std::vector<std::int64_t> idx(static_cast<std::size_t>(numel));
  for_each_group(shape, g, [&](std::int64_t grp, std::int64_t first, std::int64_t count, std::int64_t stride) {
    for (std::int64_t j = 0; j < count; ++j) idx[static_cast<std::size_t>(first + j * stride)] = grp;
  });
  return idx;
}

// ---------------------------------------------------------------------------------------------
// Bit fields

double decode_native(const format_spec& f, std::uint32_t code) {
  if (code >> f.bits)
    throw error("format '" + f.name + "': code " + std::to_string(code) + " has more than " +
                std::to_string(f.bits) + " bits");
  if (!f.is_float()) {
    if (!is_signed_int(f)) return static_cast<double>(code);
    const std::int64_t half = std::int64_t{1} << (f.bits - 1);
    const std::int64_t v = code >= static_cast<std::uint32_t>(half) ? std::int64_t(code) - 2 * half : code;
    if (f.irange == int_range::narrow && v == -half)
      throw error("format '" + f.name + "': code " + std::to_string(code) + " is not used (narrow range)");
    return static_cast<double>(v);
  }
  const int E = f.exp_bits, M = f.man_bits;
  const std::uint32_t mant = code & ((1u << M) - 1);
  const std::uint32_t field = (code >> M) & ((1u << E) - 1);
  const bool neg = f.is_signed && ((code >> (E + M)) & 1u);
  const std::uint32_t all_e = (1u << E) - 1, all_m = (1u << M) - 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (f.enc) {
    case encoding::ieee:  // all-ones exponent: inf (mantissa 0) or NaN
      if (field == all_e) return mant == 0 ? (neg ? -HUGE_VAL : HUGE_VAL) : nan;
      break;
    case encoding::fn:  // only S.1…1.1…1 is NaN
      if (field == all_e && mant == all_m) return nan;
      break;
    case encoding::fnuz:  // 1000…0 (negative zero) is the NaN
      if (neg && field == 0 && mant == 0) return nan;
      break;
    case encoding::finite: break;
  }
  // Subnormal (field 0): mant·2^(1−bias−M); normal: (2^M + mant)·2^(field−bias−M).
  const double v = field == 0 ? std::ldexp(double(mant), 1 - f.native_bias - M)
                              : std::ldexp(double((1u << M) + mant), int(field) - f.native_bias - M);
  return neg ? -v : v;
}

// ---------------------------------------------------------------------------------------------
// Encode / decode

code_tensor encode_codes(const tensor& quantized, const format_spec& f,
                         const std::vector<quant_params>& params, const group_layout& g,
                         scale_mode mode) {
  const std::string who = "export of tensor '" + quantized.name + "' as " + f.name;
  validate(f);
  const std::int64_t groups = group_count(quantized.shape, g);
  if (static_cast<std::int64_t>(params.size()) != groups)
    throw error(who + ": " + std::to_string(params.size()) + " parameter sets for " +
                std::to_string(groups) + " groups");
  if (static_cast<std::int64_t>(quantized.data.size()) != quantized.numel())
    throw error(who + ": data size does not match the shape");
  code_tensor c;
  c.name = quantized.name;
  c.shape = quantized.shape;
  c.format = f;
  c.groups = g;
  c.mode = mode;
  c.codes.resize(quantized.data.size());
  c.scale.resize(static_cast<std::size_t>(groups));
  if (f.is_affine()) c.zero_point.resize(static_cast<std::size_t>(groups));
  for (std::int64_t k = 0; k < groups; ++k) {
    const quant_params& p = params[static_cast<std::size_t>(k)];
    if (bool(p.is_float) != f.is_float())
      throw error(who + ": group " + std::to_string(k) + " has parameters of another format kind");
    c.scale[k] = mode == scale_mode::exact ? p.scale : static_cast<double>(p.hw_div_f);
    if (f.is_affine()) c.zero_point[k] = static_cast<std::int32_t>(p.zero_point);
  }
  const format_limits L = limits(f);
  const std::int64_t code_mask = (std::int64_t{1} << f.bits) - 1;
  for_each_group(quantized.shape, g, [&](std::int64_t grp, std::int64_t first, std::int64_t count, std::int64_t stride) {
    group_scale gs;
    gs.scale = c.scale[grp];
    if (f.is_affine()) gs.zero_point = c.zero_point[grp];
    for (std::int64_t j = 0; j < count; ++j) {
      const std::size_t i = static_cast<std::size_t>(first + j * stride);
      const float q = quantized.data[i];
      std::int64_t code = -1;
      if (std::isnan(q) || std::isinf(q)) {
        // Special values have one code each where the format has them.
        if (std::isnan(q) && f.has_nan())
          code = f.enc == encoding::fnuz ? (std::int64_t{1} << (f.bits - 1))
                                         : (std::int64_t{1} << (f.bits - 1)) - 1;  // S=0, all ones
        else if (std::isinf(q) && f.has_inf())
          code = (std::int64_t(q < 0) << (f.bits - 1)) | (((std::int64_t{1} << f.exp_bits) - 1) << f.man_bits);
        if (code < 0)
          throw error(who + ": element " + std::to_string(i) + " is " + (std::isnan(q) ? "NaN" : "infinite") +
                      " and the format has no such code");
      } else {
        // Native value estimate, then the nearest code and its neighbours, each checked by decoding.
        const double u = static_cast<double>(q) / gs.scale + (f.is_affine() ? gs.zero_point : 0);
        const std::int64_t guess = nearest_code(f, u, std::signbit(q));
        const std::int64_t cand[3] = {guess, guess - 1, guess + 1};
        for (std::int64_t cc : cand) {
          if (guess == k_no_code) break;
          std::int64_t bits = cc;
          if (!f.is_float()) {
            // Integer codes range over [min_value, max] of the native format (affine included).
            if (cc < static_cast<std::int64_t>(L.min_value) || cc > static_cast<std::int64_t>(L.max)) continue;
            bits = cc & code_mask;  // two's complement in `bits` bits
          } else if (cc < 0 || cc > code_mask) {
            continue;
          }
          const std::uint32_t code32 = static_cast<std::uint32_t>(bits);
          double nat;
          try {
            nat = decode_native(f, code32);
          } catch (const error&) {
            continue;  // an unused code (narrow range)
          }
          if (std::isnan(nat) || std::isinf(nat)) continue;
          if (float_bits(decode_value(f, code32, gs, mode)) == float_bits(q)) {
            code = bits;
            break;
          }
        }
        if (code < 0)
          throw error(who + ": element " + std::to_string(i) + " (value " + std::to_string(q) +
                      ") is not a point of group " + std::to_string(grp) +
                      "'s grid (was it quantized with these parameters and this scale mode?)");
      }
      c.codes[i] = static_cast<std::uint16_t>(code);
    }
  });
  return c;
}

std::vector<float> decode_codes(const code_tensor& c) {
  validate(c.format);
  const std::int64_t groups = group_count(c.shape, c.groups);
  std::int64_t numel = 1;
  for (std::int64_t d : c.shape) numel *= d;
  const std::string who = "decoding tensor '" + c.name + "'";
  if (static_cast<std::int64_t>(c.codes.size()) != numel) throw error(who + ": code count does not match the shape");
  if (static_cast<std::int64_t>(c.scale.size()) != groups) throw error(who + ": scale count does not match the groups");
  if (c.format.is_affine() && static_cast<std::int64_t>(c.zero_point.size()) != groups)
    throw error(who + ": zero-point count does not match the groups");
  // Exact scales are positive finite doubles; hardware scales are float32 values ≥ 0 (a float32
  // scale can underflow to zero for grids far below 1, and then every code decodes to ±0).
  for (double sc : c.scale)
    if (!std::isfinite(sc) || (c.mode == scale_mode::exact ? !(sc > 0) : (sc < 0 || double(float(sc)) != sc)))
      throw error(who + ": scale " + std::to_string(sc) + " is not a valid " +
                  (c.mode == scale_mode::exact ? "positive double" : "non-negative float32"));
  std::vector<float> out(c.codes.size());
  for_each_group(c.shape, c.groups, [&](std::int64_t grp, std::int64_t first, std::int64_t count, std::int64_t stride) {
    group_scale gs;
    gs.scale = c.scale[grp];
    if (c.format.is_affine()) gs.zero_point = c.zero_point[grp];
    for (std::int64_t j = 0; j < count; ++j) {
      const std::size_t i = static_cast<std::size_t>(first + j * stride);
      out[i] = decode_value(c.format, c.codes[i], gs, c.mode);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// File layout

void add_codes(safetensors_writer& w, const code_tensor& c) {
  const std::vector<std::int64_t> gshape = group_shape(c.shape, c.groups);
  if (c.format.bits <= 8) {
    std::vector<std::uint8_t> b(c.codes.begin(), c.codes.end());
    w.add(c.name + ".codes", safetensors_dtype::u8, c.shape, b.data(), b.size());
  } else {
    w.add(c.name + ".codes", safetensors_dtype::u16, c.shape, c.codes.data(), c.codes.size() * 2);
  }
  if (c.mode == scale_mode::exact) {
    w.add(c.name + ".scale", safetensors_dtype::f64, gshape, c.scale.data(), c.scale.size() * 8);
  } else {
    std::vector<float> s(c.scale.begin(), c.scale.end());
    w.add(c.name + ".scale", safetensors_dtype::f32, gshape, s.data(), s.size() * 4);
  }
  if (c.format.is_affine())
    w.add(c.name + ".zero_point", safetensors_dtype::i32, gshape, c.zero_point.data(), c.zero_point.size() * 4);
  // OCP MX shared scale (E8M0: the byte k + 127 for the scale 2^k) when every scale allows it.
  std::vector<std::uint8_t> e8m0;
  for (double s : c.scale) {
    int e = 0;
    const double m = std::frexp(s, &e);
    if (m != 0.5 || e - 1 < -127 || e - 1 > 127) {
      e8m0.clear();
      break;
    }
    e8m0.push_back(static_cast<std::uint8_t>(e - 1 + 127));
  }
  if (!e8m0.empty() && e8m0.size() == c.scale.size())
    w.add(c.name + ".block_scale_e8m0", safetensors_dtype::u8, gshape, e8m0.data(), e8m0.size());
  const format_spec& f = c.format;
  nlohmann::ordered_json j = {{"schema_version", k_schema_version},
                              {"format", f.name},
                              {"bits", f.bits},
                              {"kind", f.is_float() ? "floating" : "integer"},
                              {"exp_bits", f.exp_bits},
                              {"man_bits", f.man_bits},
                              {"signed", f.is_signed},
                              {"encoding", to_string(f.enc)},
                              {"bias", f.native_bias},
                              {"subnormals", f.subnormals},
                              {"overflow", to_string(f.overflow)},
                              {"int_range", to_string(f.irange)},
                              {"scale_mode", to_string(c.mode)},
                              {"axis", c.groups.axis},
                              {"block", c.groups.block},
                              {"shape", c.shape}};
  w.set_metadata(fmt_json_name(c.name), j.dump());
  w.set_metadata("exmy.schema_version", std::to_string(k_schema_version));
  w.set_metadata("exmy.content", "codes");
}

std::vector<code_tensor> read_codes(const std::string& path) {
  const auto meta = read_safetensors_metadata(path);
  std::map<std::string, raw_tensor> raw;
  for (raw_tensor& r : read_safetensors_raw(path)) raw[r.info.name] = std::move(r);
  std::vector<code_tensor> out;
  const std::string prefix = "exmy.codes.";
  for (const auto& [key, value] : meta) {
    if (key.rfind(prefix, 0) != 0) continue;
    code_tensor c;
    c.name = key.substr(prefix.size());
    const std::string w = where_tensor(path, c.name);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(value);
      c.format = parse_format(j.at("format").get<std::string>());
      if (j.at("bits").get<int>() != c.format.bits || j.at("exp_bits").get<int>() != c.format.exp_bits ||
          j.at("man_bits").get<int>() != c.format.man_bits || j.at("bias").get<int>() != c.format.native_bias ||
          j.at("signed").get<bool>() != c.format.is_signed)
        throw error(w + ": the format descriptor in the metadata contradicts the format name");
      c.mode = parse_scale_mode(j.at("scale_mode").get<std::string>());
      c.groups.axis = j.at("axis").get<int>();
      c.groups.block = j.at("block").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
      throw error(w + ": bad code metadata (" + e.what() + ")");
    }
    auto need = [&](const std::string& suffix) -> const raw_tensor& {
      auto it = raw.find(c.name + suffix);
      if (it == raw.end()) throw error(w + ": missing '" + c.name + suffix + "'");
      return it->second;
    };
    const raw_tensor& codes = need(".codes");
    c.shape = codes.info.shape;
    const std::size_t n = static_cast<std::size_t>(codes.info.numel());
    c.codes.resize(n);
    if (codes.info.file_dtype == "U8") {
      for (std::size_t i = 0; i < n; ++i) c.codes[i] = codes.bytes[i];
    } else if (codes.info.file_dtype == "U16") {
      std::memcpy(c.codes.data(), codes.bytes.data(), n * 2);
    } else {
      throw error(w + ": codes must be U8 or U16, not " + codes.info.file_dtype);
    }
    const raw_tensor& sc = need(".scale");
    const std::size_t ng = static_cast<std::size_t>(sc.info.numel());
    if (static_cast<std::int64_t>(ng) != group_count(c.shape, c.groups))
      throw error(w + ": the scale tensor does not match the group layout");
    c.scale.resize(ng);
    if (sc.info.file_dtype == "F64") {
      std::memcpy(c.scale.data(), sc.bytes.data(), ng * 8);
    } else if (sc.info.file_dtype == "F32") {
      std::vector<float> s(ng);
      std::memcpy(s.data(), sc.bytes.data(), ng * 4);
      c.scale.assign(s.begin(), s.end());
    } else {
      throw error(w + ": scales must be F64 or F32, not " + sc.info.file_dtype);
    }
    if (c.format.is_affine()) {
      const raw_tensor& zp = need(".zero_point");
      if (zp.info.file_dtype != "I32" || static_cast<std::size_t>(zp.info.numel()) != ng)
        throw error(w + ": zero points must be I32 with one per group");
      c.zero_point.resize(ng);
      std::memcpy(c.zero_point.data(), zp.bytes.data(), ng * 4);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace exmy
