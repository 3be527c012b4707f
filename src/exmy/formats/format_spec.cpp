// exmy/formats/format_spec.cpp — validation, native limits, the format-name parser and presets.
#include "exmy/formats/format_spec.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace exmy {
namespace {

// The families a name can belong to; every parse error lists them.
const char* const k_families =
    "expected one of: eXmY (paper grid, e.g. e4m3), eXmYfn | eXmYfnuz | eXmYieee (hardware "
    "encodings, e.g. e4m3fn, e5m2ieee), e2m3fn | e3m2fn | e2m1fn (OCP FP6/FP4), fp16, bf16, intN, "
    "intNn, intNa, uintN, uintNa, ueXmY (unsigned), optionally followed by .sat | .nosat | .ftz";

[[noreturn]] void fail_name(const std::string& name, const std::string& why) {
  throw error("unknown format '" + name + "'" + (why.empty() ? "" : " (" + why + ")") + ": " +
              k_families);
}

// Parses a non-negative decimal integer at s[pos…]; returns false when there is none.
bool read_int(const std::string& s, std::size_t& pos, int& value) {
  std::size_t start = pos;
  long v = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) && pos - start < 4) {
    v = v * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == start || (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))))
    return false;
  value = static_cast<int>(v);
  return true;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

format_spec make_float(int e, int m, bool is_signed, encoding enc, bool ocp_small) {
  format_spec f;
  f.kind = format_kind::floating;
  f.exp_bits = e;
  f.man_bits = m;
  f.is_signed = is_signed;
  f.bits = e + m + (is_signed ? 1 : 0);
  f.enc = enc;
  // Bias: the paper's grid uses 2^(E−1) (reference-spec §6.1, FPQuantizer default); IEEE, OCP E4M3
  // (fn) and OCP FP6/FP4 use 2^(E−1) − 1; the fnuz encodings use 2^(E−1) (one larger than IEEE).
  // E outside 1…16 cannot make a valid format (validate() says why); no shift by it then (a shift
  // by 32 or more is undefined: issue 8, found by fuzz_format on "e33m4").
  if (e < 1 || e > 16) return f;
  if (enc == encoding::finite && !ocp_small)
    f.native_bias = 1 << (e - 1);
  else if (enc == encoding::fnuz)
    f.native_bias = 1 << (e - 1);
  else
    f.native_bias = (1 << (e - 1)) - 1;
  return f;
}

format_spec make_int(int n, int_range r) {
  format_spec f;
  f.kind = format_kind::integer;
  f.bits = n;
  f.exp_bits = 0;
  f.man_bits = 0;
  f.is_signed = !(r == int_range::unsigned_ || r == int_range::affine_unsigned);
  f.irange = r;
  f.native_bias = 0;
  return f;
}

std::string lower_trim(const std::string& in) {
  std::string s;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const char* to_string(encoding e) {
  switch (e) {
    case encoding::finite: return "finite";
    case encoding::ieee: return "ieee";
    case encoding::fn: return "fn";
    case encoding::fnuz: return "fnuz";
  }
  return "?";
}
const char* to_string(overflow_mode o) {
  return o == overflow_mode::saturate ? "saturate" : "non_saturating";
}
const char* to_string(int_range r) {
  switch (r) {
    case int_range::paper: return "paper";
    case int_range::narrow: return "narrow";
    case int_range::unsigned_: return "unsigned";
    case int_range::affine: return "affine";
    case int_range::affine_unsigned: return "affine_unsigned";
  }
  return "?";
}

void validate(const format_spec& f) {
  const std::string who = "format '" + f.name + "': ";
  if (f.bits < 2 || f.bits > 16)
    throw error(who + "total bits " + std::to_string(f.bits) + " outside 2…16");
  if (!f.is_float()) {
    if (f.exp_bits != 0 || f.man_bits != 0) throw error(who + "integer format with E/M bits");
    return;
  }
  if (f.exp_bits < 1) throw error(who + "E must be at least 1 (E = 0 is an integer format: intN)");
  if (f.man_bits < 0) throw error(who + "M must be non-negative");
  if (f.exp_bits + f.man_bits + (f.is_signed ? 1 : 0) != f.bits)
    throw error(who + "E + M + sign bit must equal the total bits");
  // Exponents are held in double precision: the unit-frame grid must stay far inside its normal
  // range (2^±1022), which allows E ≤ 10.
  if (f.exp_bits > 10)
    throw error(who + "E = " + std::to_string(f.exp_bits) +
                " gives an exponent range beyond double precision; exmy supports E ≤ 10");
  if (f.enc == encoding::ieee && f.exp_bits < 2)
    throw error(who + "an IEEE-style encoding needs E ≥ 2 (the top exponent is reserved)");
  if (!f.is_signed && f.enc != encoding::finite)
    throw error(who + "unsigned floating formats use the finite encoding only");
  if (f.overflow == overflow_mode::non_saturating && f.enc == encoding::finite)
    throw error(who + "a finite-encoding format has no inf/NaN code, so it cannot be non-saturating");
}

format_limits limits(const format_spec& f) {
  validate(f);
  format_limits L;
  const std::int64_t codes = std::int64_t{1} << f.bits;
  if (!f.is_float()) {
    const std::int64_t half = std::int64_t{1} << (f.bits - 1);
    L.epsilon = L.min_normal = L.min_subnormal = 1.0;
    switch (f.irange) {
      case int_range::paper:
      case int_range::affine:
        L.max = double(half - 1);
        L.min_value = -double(half);
        L.finite_codes = L.finite_values = codes;
        break;
      case int_range::narrow:
        L.max = double(half - 1);
        L.min_value = -L.max;
        L.finite_codes = L.finite_values = codes - 1;  // the code −2^(n−1) is unused
        break;
      case int_range::unsigned_:
      case int_range::affine_unsigned:
        L.max = double(codes - 1);
        L.min_value = 0;
        L.finite_codes = L.finite_values = codes;
        break;
    }
    return L;
  }
  const int E = f.exp_bits, M = f.man_bits, bias = f.native_bias;
  // Largest exponent field holding finite values: all-ones except for IEEE (reserved for inf/NaN).
  const int top_field = (1 << E) - 1 - (f.enc == encoding::ieee ? 1 : 0);
  L.emin = 1 - bias;
  L.emax = top_field - bias;
  // Largest significand at the top exponent: all-ones mantissa, minus one for fn (S.1…1.1…1 = NaN).
  L.max_significand = (std::int64_t{1} << (M + 1)) - 1;
  if (f.enc == encoding::fn) {
    if (M == 0) {  // the top binade holds only the NaN code
      L.emax -= 1;
      L.max_significand = 1;
    } else {
      L.max_significand -= 1;
    }
  }
  L.max = std::ldexp(double(L.max_significand), L.emax - M);
  L.min_value = f.is_signed ? -L.max : 0.0;
  L.min_normal = std::ldexp(1.0, L.emin);
  const bool has_sub = f.subnormals && M > 0;
  L.min_subnormal = has_sub ? std::ldexp(1.0, L.emin - M) : L.min_normal;
  L.epsilon = std::ldexp(1.0, -M);
  // Codes: count the ones that decode to finite numbers.
  std::int64_t nonfinite = 0;
  const std::int64_t sides = f.is_signed ? 2 : 1;
  switch (f.enc) {
    case encoding::finite: nonfinite = 0; break;
    case encoding::ieee: nonfinite = sides << M; break;  // whole top binade: inf + NaNs
    case encoding::fn: nonfinite = sides; break;          // S.1…1.1…1
    case encoding::fnuz: nonfinite = 1; break;            // 1000…0
  }
  L.finite_codes = codes - nonfinite;
  // Distinct values: ±0 are one value (fnuz has a single zero code already); flushed subnormal
  // codes are never produced by the quantizer, so they do not count as values.
  std::int64_t values = L.finite_codes;
  if (f.is_signed && f.enc != encoding::fnuz) values -= 1;
  if (!has_sub && M > 0) values -= sides * ((std::int64_t{1} << M) - 1);
  L.finite_values = values;
  return L;
}

format_spec parse_format(const std::string& raw) {
  const std::string s = lower_trim(raw);
  if (s.empty()) fail_name(raw, "empty name");
  // Split modifiers: base.mod1.mod2
  std::vector<std::string> parts;
  {
    std::stringstream ss(s);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(p);
    if (!s.empty() && s.back() == '.') parts.push_back("");
  }
  const std::string base = parts[0];
  format_spec f;
  bool ok = false;
  std::size_t pos = 0;
  int n = 0;
  if (base == "fp16" || base == "half" || base == "float16") {
    f = make_float(5, 10, true, encoding::ieee, false);
    f.name = "fp16";
    ok = true;
  } else if (base == "bf16" || base == "bfloat16") {
    f = make_float(8, 7, true, encoding::ieee, false);
    f.name = "bf16";
    ok = true;
  } else if (starts_with(base, "uint")) {
    pos = 4;
    if (!read_int(base, pos, n)) fail_name(raw, "missing bit width after 'uint'");
    const std::string rest = base.substr(pos);
    if (rest.empty()) f = make_int(n, int_range::unsigned_);
    else if (rest == "a") f = make_int(n, int_range::affine_unsigned);
    else fail_name(raw, "unexpected '" + rest + "'");
    f.name = base;
    ok = true;
  } else if (starts_with(base, "int")) {
    pos = 3;
    if (!read_int(base, pos, n)) fail_name(raw, "missing bit width after 'int'");
    const std::string rest = base.substr(pos);
    if (rest.empty()) f = make_int(n, int_range::paper);
    else if (rest == "n") f = make_int(n, int_range::narrow);
    else if (rest == "a") f = make_int(n, int_range::affine);
    else fail_name(raw, "unexpected '" + rest + "'");
    f.name = base;
    ok = true;
  } else if (starts_with(base, "e") || starts_with(base, "ue")) {
    const bool is_unsigned = base[0] == 'u';
    pos = is_unsigned ? 2 : 1;
    int e = 0, m = 0;
    if (!read_int(base, pos, e)) fail_name(raw, "missing exponent bits after 'e'");
    if (pos >= base.size() || base[pos] != 'm') fail_name(raw, "expected 'm' after the exponent bits");
    ++pos;
    if (!read_int(base, pos, m)) fail_name(raw, "missing mantissa bits after 'm'");
    const std::string suffix = base.substr(pos);
    if (e < 1) throw error("format '" + raw + "': E must be at least 1 (use intN for integers)");
    const int total = e + m + (is_unsigned ? 0 : 1);
    encoding enc = encoding::finite;
    bool ocp_small = false;
    if (suffix.empty()) {
      enc = encoding::finite;
    } else if (suffix == "fn") {
      // OCP: 8-bit "fn" (E4M3) keeps one NaN pattern; the MX FP6/FP4 types (fewer than 8 bits)
      // have no NaN and no inf at all, with the IEEE bias.
      if (total < 8) {
        enc = encoding::finite;
        ocp_small = true;
      } else {
        enc = encoding::fn;
      }
    } else if (suffix == "fnuz") {
      enc = encoding::fnuz;
    } else if (suffix == "ieee") {
      enc = encoding::ieee;
    } else {
      fail_name(raw, "unknown suffix '" + suffix + "'");
    }
    if (is_unsigned && !suffix.empty())
      throw error("format '" + raw + "': unsigned floating formats take no encoding suffix");
    f = make_float(e, m, !is_unsigned, enc, ocp_small);
    f.name = base;
    ok = true;
  }
  if (!ok) fail_name(raw, "");
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string& mod = parts[i];
    if (mod == "sat") {
      f.overflow = overflow_mode::saturate;
    } else if (mod == "nosat") {
      f.overflow = overflow_mode::non_saturating;
    } else if (mod == "ftz") {
      if (!f.is_float()) throw error("format '" + raw + "': .ftz applies to floating formats only");
      f.subnormals = false;
    } else {
      fail_name(raw, "unknown modifier '." + mod + "'");
    }
  }
  // Canonical name: base plus the non-default modifiers in a fixed order.
  if (f.overflow == overflow_mode::non_saturating) f.name += ".nosat";
  if (!f.subnormals) f.name += ".ftz";
  validate(f);
  return f;
}

std::vector<format_spec> parse_format_list(const std::string& list, int bits) {
  std::vector<format_spec> out;
  std::stringstream ss(list);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    any = true;
    const std::string t = lower_trim(item);
    if (t == "paper") {
      for (const char* nm : {"e5m2", "e4m3", "e3m4", "e2m5", "int8"}) out.push_back(parse_format(nm));
    } else if (t == "all") {
      if (bits < 3 || bits > 16) throw error("--bits " + std::to_string(bits) + " outside 3…16");
      for (int e = 1; e <= bits - 2; ++e) {
        const int m = bits - 1 - e;
        if (e > 10) break;
        out.push_back(parse_format("e" + std::to_string(e) + "m" + std::to_string(m)));
      }
      out.push_back(parse_format("int" + std::to_string(bits)));
    } else if (t.empty()) {
      throw error("empty entry in format list '" + list + "'");
    } else {
      out.push_back(parse_format(t));
    }
  }
  if (!any) throw error("empty format list");
  return out;
}

std::vector<format_spec> presets() {
  std::vector<format_spec> out;
  for (const char* nm : {"e4m3fn", "e5m2ieee", "e4m3fnuz", "e5m2fnuz", "e3m4ieee", "e2m3fn",
                         "e3m2fn", "e2m1fn", "fp16", "bf16", "e1m6", "e2m5", "e3m4", "e4m3", "e5m2",
                         "e6m1", "int8", "int8n", "uint8", "int8a", "uint8a", "int4", "uint4",
                         "int16"})
    out.push_back(parse_format(nm));
  return out;
}

}  // namespace exmy
