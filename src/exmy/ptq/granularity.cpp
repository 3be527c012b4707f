// exmy/ptq/granularity.cpp — parsing, group order (gather/scatter as 3-D transposes), MX shared
// exponents and the integer range variants (see granularity.hpp).
#include "exmy/ptq/granularity.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace exmy {
namespace {

[[noreturn]] void bad(const std::string& s, const std::string& why) {
  throw error("granularity '" + s + "': " + why +
              " (expected tensor, channel[:AXIS], block:K[:AXIS][:floor|ceil|nearest] or "
              "group:G[:AXIS][:sym|asym])");
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t a = 0;
  for (;;) {
    const std::size_t b = s.find(sep, a);
    out.push_back(s.substr(a, b == std::string::npos ? std::string::npos : b - a));
    if (b == std::string::npos) return out;
    a = b + 1;
  }
}

// Strict integer parse: optional sign, digits only, within int64.
bool parse_int(const std::string& t, std::int64_t& v) {
  if (t.empty()) return false;
  std::size_t i = (t[0] == '-' || t[0] == '+') ? 1 : 0;
  if (i == t.size()) return false;
  for (std::size_t j = i; j < t.size(); ++j)
    if (t[j] < '0' || t[j] > '9') return false;
  if (t.size() - i > 15) return false;
  v = std::stoll(t);
  return true;
}

// A shape seen as [outer, n_axis, inner] around one axis.
struct three_d {
  std::int64_t outer = 1, len = 1, inner = 1;
};
three_d around(const std::vector<std::int64_t>& shape, int axis) {
  three_d d;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (i < axis) d.outer *= shape[i];
    else if (i == axis) d.len = shape[i];
    else d.inner *= shape[i];
  }
  return d;
}

std::int64_t numel_of(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

// Visits every element in group order: fn(group-order index, row-major index). The order is:
//  channel: c, then (i, j) row-major;  block/group: (i, b, j) row-major, then c inside the block.
template <class F>
void visit_group_order(const std::vector<std::int64_t>& shape, const granularity& g, F&& fn) {
  if (g.kind == granularity_kind::tensor) {
    const std::int64_t n = numel_of(shape);
    for (std::int64_t k = 0; k < n; ++k) fn(k, k);
    return;
  }
  const three_d d = around(shape, g.axis);
  std::int64_t k = 0;
  if (g.kind == granularity_kind::channel) {
    for (std::int64_t c = 0; c < d.len; ++c)
      for (std::int64_t i = 0; i < d.outer; ++i) {
        const std::int64_t base = (i * d.len + c) * d.inner;
        for (std::int64_t j = 0; j < d.inner; ++j) fn(k++, base + j);
      }
    return;
  }
  const std::int64_t bs = g.size;
  const std::int64_t nb = (d.len + bs - 1) / bs;
  for (std::int64_t i = 0; i < d.outer; ++i)
    for (std::int64_t b = 0; b < nb; ++b) {
      const std::int64_t c0 = b * bs, c1 = std::min(d.len, c0 + bs);
      for (std::int64_t j = 0; j < d.inner; ++j)
        for (std::int64_t c = c0; c < c1; ++c) fn(k++, (i * d.len + c) * d.inner + j);
    }
}

}  // namespace

const char* to_string(granularity_kind k) {
  switch (k) {
    case granularity_kind::tensor: return "tensor";
    case granularity_kind::channel: return "channel";
    case granularity_kind::block: return "block";
    case granularity_kind::group: return "group";
  }
  return "?";
}

const char* to_string(block_rule r) {
  switch (r) {
    case block_rule::floor: return "floor";
    case block_rule::ceil: return "ceil";
    case block_rule::nearest: return "nearest";
  }
  return "?";
}

block_rule parse_block_rule(const std::string& s) {
  if (s == "floor") return block_rule::floor;
  if (s == "ceil") return block_rule::ceil;
  if (s == "nearest" || s == "rne" || s == "round") return block_rule::nearest;
  throw error("unknown block scale rule '" + s + "': expected floor, ceil or nearest");
}

granularity parse_granularity(const std::string& s) {
  const std::vector<std::string> t = split(s, ':');
  granularity g;
  if (t[0] == "tensor") {
    if (t.size() != 1) bad(s, "'tensor' takes no arguments");
    return g;
  }
  if (t[0] == "channel") {
    g.kind = granularity_kind::channel;
    if (t.size() > 2) bad(s, "too many fields");
    std::int64_t a = 0;
    if (t.size() == 2 && !parse_int(t[1], a)) bad(s, "axis '" + t[1] + "' is not an integer");
    if (a < -64 || a > 64) bad(s, "axis " + t[1] + " is out of range");
    g.axis = static_cast<int>(a);
    return g;
  }
  if (t[0] != "block" && t[0] != "group") bad(s, "unknown kind '" + t[0] + "'");
  g.kind = t[0] == "block" ? granularity_kind::block : granularity_kind::group;
  g.axis = -1;
  if (t.size() < 2) bad(s, "missing the " + t[0] + " size");
  std::int64_t k = 0;
  if (!parse_int(t[1], k) || k < 1 || k > (std::int64_t{1} << 30))
    bad(s, "size '" + t[1] + "' is not an integer in 1 … 2^30");
  g.size = k;
  bool have_axis = false, have_word = false;
  for (std::size_t i = 2; i < t.size(); ++i) {
    std::int64_t a = 0;
    if (parse_int(t[i], a)) {
      if (have_axis) bad(s, "two axes");
      if (a < -64 || a > 64) bad(s, "axis " + t[i] + " is out of range");
      g.axis = static_cast<int>(a);
      have_axis = true;
    } else if (g.kind == granularity_kind::block) {
      if (have_word) bad(s, "two scale rules");
      try {
        g.rule = parse_block_rule(t[i]);
      } catch (const error&) {
        bad(s, "unknown field '" + t[i] + "' (a block takes an axis and floor|ceil|nearest)");
      }
      have_word = true;
    } else {
      if (have_word) bad(s, "two symmetry fields");
      if (t[i] == "sym") g.symmetric = true;
      else if (t[i] == "asym") g.symmetric = false;
      else bad(s, "unknown field '" + t[i] + "' (a group takes an axis and sym|asym)");
      have_word = true;
    }
  }
  return g;
}

std::string to_string(const granularity& g) {
  switch (g.kind) {
    case granularity_kind::tensor: return "tensor";
    case granularity_kind::channel: return "channel:" + std::to_string(g.axis);
    case granularity_kind::block:
      return "block:" + std::to_string(g.size) + ":" + std::to_string(g.axis) + ":" +
             to_string(g.rule);
    case granularity_kind::group:
      return "group:" + std::to_string(g.size) + ":" + std::to_string(g.axis) + ":" +
             (g.symmetric ? "sym" : "asym");
  }
  return "?";
}

granularity resolve(const granularity& g, const std::vector<std::int64_t>& shape) {
  granularity r = g;
  const int rank = static_cast<int>(shape.size());
  const bool fall_back = (g.kind == granularity_kind::channel && rank < 2) ||
                         (g.kind != granularity_kind::tensor && rank == 0);
  if (g.kind == granularity_kind::tensor || fall_back) {
    r = granularity{};
    r.symmetric = g.symmetric;
    return r;
  }
  const int a = g.axis < 0 ? g.axis + rank : g.axis;
  if (a < 0 || a >= rank)
    throw error("granularity '" + to_string(g) + "': axis " + std::to_string(g.axis) +
                " is outside a tensor of rank " + std::to_string(rank));
  r.axis = a;
  return r;
}

group_layout to_group_layout(const granularity& r) {
  group_layout l;
  switch (r.kind) {
    case granularity_kind::tensor: l.axis = -1; break;
    case granularity_kind::channel: l.axis = r.axis; l.block = 0; break;
    case granularity_kind::block:
    case granularity_kind::group: l.axis = r.axis; l.block = r.size; break;
  }
  return l;
}

std::vector<std::int64_t> group_offsets(const std::vector<std::int64_t>& shape,
                                        const granularity& r) {
  std::vector<std::int64_t> off{0};
  const std::int64_t n = numel_of(shape);
  if (r.kind == granularity_kind::tensor) {
    off.push_back(n);
    return off;
  }
  const three_d d = around(shape, r.axis);
  if (r.kind == granularity_kind::channel) {
    const std::int64_t per = d.outer * d.inner;
    for (std::int64_t c = 0; c < d.len; ++c) off.push_back(off.back() + per);
    return off;
  }
  const std::int64_t nb = (d.len + r.size - 1) / r.size;
  off.reserve(static_cast<std::size_t>(d.outer * nb * d.inner + 1));
  for (std::int64_t i = 0; i < d.outer; ++i)
    for (std::int64_t b = 0; b < nb; ++b) {
      const std::int64_t len = std::min(d.len, (b + 1) * r.size) - b * r.size;
      for (std::int64_t j = 0; j < d.inner; ++j) off.push_back(off.back() + len);
    }
  return off;
}

bool is_row_major_order(const std::vector<std::int64_t>& shape, const granularity& r) {
  if (r.kind == granularity_kind::tensor) return true;
  const three_d d = around(shape, r.axis);
  if (r.kind == granularity_kind::channel) return d.outer == 1 || d.len == 1;
  return d.inner == 1;
}

void to_group_order(const float* in, const std::vector<std::int64_t>& shape, const granularity& r,
                    float* out) {
  if (is_row_major_order(shape, r)) {
    std::memcpy(out, in, static_cast<std::size_t>(numel_of(shape)) * sizeof(float));
    return;
  }
  visit_group_order(shape, r, [&](std::int64_t k, std::int64_t m) { out[k] = in[m]; });
}

void from_group_order(const float* in, const std::vector<std::int64_t>& shape,
                      const granularity& r, float* out) {
  if (is_row_major_order(shape, r)) {
    std::memcpy(out, in, static_cast<std::size_t>(numel_of(shape)) * sizeof(float));
    return;
  }
  visit_group_order(shape, r, [&](std::int64_t k, std::int64_t m) { out[m] = in[k]; });
}

int shared_exponent(double m, const format_spec& element, block_rule rule) {
  if (!(m > 0.0) || !std::isfinite(m)) return -127;
  // m = ma·2^ea and max_elem = mm·2^em with ma, mm in [1, 2): log2(m / max_elem) =
  // (ea − em) + log2(ma / mm), the last term in (−1, 1).
  int ea = 0, em = 0;
  const double ma = 2.0 * std::frexp(m, &ea);
  const double mm = 2.0 * std::frexp(limits(element).max, &em);
  --ea;
  --em;
  long e = long(ea) - em;  // floor: OCP MX §6.3, X = 2^(floor(log2 m) − emax_elem)
  if (rule == block_rule::ceil) {
    if (ma > mm) ++e;  // m > mm·2^(ea) = max_elem·2^e: one binade up avoids saturation
  } else if (rule == block_rule::nearest) {
    // Compare ma² with 2·mm² and mm²/2 exactly: p + pe = ma² (fma two-product); mm has at most
    // 17 significant bits (formats of ≤ 16 bits), so q = mm² is exact. √2 is irrational: no ties.
    const double p = ma * ma, pe = std::fma(ma, ma, -p), q = mm * mm;
    auto cmp = [&](double t) { return p > t ? 1 : p < t ? -1 : (pe > 0 ? 1 : pe < 0 ? -1 : 0); };
    if (cmp(2.0 * q) >= 0) ++e;         // ma/mm ≥ √2: log2 ≥ 0.5 rounds up
    else if (cmp(0.5 * q) < 0) --e;     // ma/mm < 1/√2: log2 < −0.5 rounds down
  }
  return static_cast<int>(std::clamp(e, -127L, 127L));
}

quant_params block_params(const format_spec& element, int e) {
  return make_params(element, std::ldexp(limits(element).max, e));
}

format_spec reduce_range(const format_spec& f) {
  if (f.is_float()) return f;
  if (f.bits <= 2) throw error("format '" + f.name + "': reduce_range needs at least 3 bits");
  const std::string n = std::to_string(f.bits - 1);
  switch (f.irange) {
    case int_range::paper: return parse_format("int" + n);
    case int_range::narrow: return parse_format("int" + n + "n");
    case int_range::unsigned_: return parse_format("uint" + n);
    case int_range::affine: return parse_format("int" + n + "a");
    case int_range::affine_unsigned: return parse_format("uint" + n + "a");
  }
  return f;
}

format_spec asymmetric_variant(const format_spec& f) {
  if (f.is_float())
    throw error("format '" + f.name + "': asymmetric (zero-point) quantization needs an integer format");
  return parse_format("uint" + std::to_string(f.bits) + "a");
}

}  // namespace exmy
