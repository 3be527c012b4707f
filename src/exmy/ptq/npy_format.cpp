// exmy/ptq/npy_format.cpp — .npy header parsing (NEP 1) and raw-data conversion to float32.
#include "exmy/ptq/npy_format.hpp"

#include <cstring>
#include <limits>

#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

// A value of the Python-literal subset numpy writes into headers: dicts, tuples, lists, strings,
// integers, True/False/None. Structured dtypes arrive as lists of tuples; only their text matters.
struct py_value {
  enum kind_t { none, boolean, integer, string, tuple, list, dict } kind = none;
  bool b = false;
  std::int64_t i = 0;
  std::string s;
  std::vector<py_value> items;                          // tuple / list
  std::vector<std::pair<std::string, py_value>> entries;  // dict
};

class py_parser {
 public:
  py_parser(const char* p, std::size_t n, const std::string& where) : p_(p), n_(n), where_(where) {}

  py_value parse_top() {
    py_value v = value(0);
    skip_ws();
    if (pos_ != n_) fail("unexpected text after the header dict");
    return v;
  }

 private:
  // Nesting deeper than this is not a header numpy writes; the limit keeps recursion bounded.
  static constexpr int k_max_depth = 32;

  [[noreturn]] void fail(const std::string& what) const {
    throw error(where_ + ": malformed .npy header (" + what + " at byte " + std::to_string(pos_) +
                ")");
  }
  void skip_ws() {
    while (pos_ < n_ && (p_[pos_] == ' ' || p_[pos_] == '\t' || p_[pos_] == '\n' || p_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < n_ && p_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool word(const char* w) {
    const std::size_t len = std::strlen(w);
    if (n_ - pos_ >= len && std::memcmp(p_ + pos_, w, len) == 0) {
      pos_ += len;
      return true;
    }
    return false;
  }

  py_value value(int depth) {
    if (depth > k_max_depth) fail("nesting too deep");
    skip_ws();
    if (pos_ >= n_) fail("unexpected end");
    py_value v;
    const char c = p_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = py_value::dict;
      while (!eat('}')) {
        py_value key = value(depth + 1);
        if (key.kind != py_value::string) fail("dict key is not a string");
        if (!eat(':')) fail("expected ':'");
        v.entries.emplace_back(key.s, value(depth + 1));
        if (!eat(',')) {
          if (!eat('}')) fail("expected ',' or '}'");
          break;
        }
      }
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      ++pos_;
      v.kind = c == '(' ? py_value::tuple : py_value::list;
      while (!eat(close)) {
        v.items.push_back(value(depth + 1));
        if (!eat(',')) {
          if (!eat(close)) fail(std::string("expected ',' or '") + close + "'");
          break;
        }
      }
    } else if (c == '\'' || c == '"') {
      ++pos_;
      v.kind = py_value::string;
      while (pos_ < n_ && p_[pos_] != c) {
        if (p_[pos_] == '\\') ++pos_;  // escapes never occur in numpy descr strings; keep the byte
        if (pos_ < n_) v.s += p_[pos_++];
      }
      if (pos_ >= n_) fail("unterminated string");
      ++pos_;
    } else if (word("True")) {
      v.kind = py_value::boolean;
      v.b = true;
    } else if (word("False")) {
      v.kind = py_value::boolean;
      v.b = false;
    } else if (word("None")) {
      v.kind = py_value::none;
    } else if (c >= '0' && c <= '9') {
      v.kind = py_value::integer;
      std::int64_t x = 0;
      while (pos_ < n_ && p_[pos_] >= '0' && p_[pos_] <= '9') {
        const int d = p_[pos_] - '0';
        if (x > (std::numeric_limits<std::int64_t>::max() - d) / 10) fail("integer overflows int64");
        x = x * 10 + d;
        ++pos_;
      }
      if (pos_ < n_ && p_[pos_] == 'L') ++pos_;  // Python 2 long suffix in old files
      v.i = x;
    } else if (c == '-') {
      fail("negative dimension");
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  const char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  const std::string& where_;
};

std::uint16_t le16(const unsigned char* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
         (std::uint32_t(p[3]) << 24);
}

// Decodes a numpy descr string ('<f4', '>f8', '|u1', '=f2' …). Returns false for non-float types;
// item size is filled from the digits when they are present.
bool decode_descr(const std::string& d, dtype& t, bool& big, std::size_t& item) {
  item = 0;
  if (d.size() < 2) return false;
  std::size_t k = 0;
  big = false;
  if (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=') {
    big = d[0] == '>';
    k = 1;
  }
  if (k >= d.size()) return false;
  const char kind = d[k];
  const std::string digits = d.substr(k + 1);
  if (!digits.empty() && digits.size() <= 3 &&
      digits.find_first_not_of("0123456789") == std::string::npos)
    item = static_cast<std::size_t>(std::stoi(digits));
  if (kind != 'f') return false;
  if (item == 2) t = dtype::f16;
  else if (item == 4) t = dtype::f32;
  else if (item == 8) t = dtype::f64;
  else return false;  // float128 ('<f16') and friends
  return true;
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t ex = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  std::uint32_t bits;
  if (ex == 0) {
    // Zero or subnormal: man·2^−24 is exact in float32.
    float v = static_cast<float>(man) * 5.9604644775390625e-08f;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (ex == 31) {
    bits = sign | 0x7f800000u | (man << 13);  // inf, or NaN with its payload
  } else {
    bits = sign | ((ex + 112u) << 23) | (man << 13);  // rebias 15 → 127
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float load_one(const unsigned char* s, dtype t, bool big) {
  unsigned char b[8];
  const std::size_t n = dtype_size(t);
  if (big)
    for (std::size_t i = 0; i < n; ++i) b[i] = s[n - 1 - i];
  else
    std::memcpy(b, s, n);
  switch (t) {
    case dtype::f16: return half_to_float(std::uint16_t(b[0] | (b[1] << 8)));
    case dtype::bf16: {
      const std::uint32_t bits = std::uint32_t(b[0] | (b[1] << 8)) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case dtype::f32: {
      float f;
      std::memcpy(&f, b, 4);
      return f;
    }
    case dtype::f64: {
      double d;
      std::memcpy(&d, b, 8);
      return static_cast<float>(d);
    }
  }
  return 0.0f;
}

}  // namespace

std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::f16:
    case dtype::bf16: return 2;
    case dtype::f32: return 4;
    case dtype::f64: return 8;
  }
  return 0;
}

std::int64_t checked_numel(const std::vector<std::int64_t>& shape, std::size_t item_size,
                           const std::string& where) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw error(where + ": negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, d, &n))
      throw error(where + ": the shape's element count overflows int64");
  }
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<std::int64_t>(item_size), &bytes))
    throw error(where + ": the tensor's byte size overflows int64");
  return n;
}

std::size_t npy_header_extent(const unsigned char* p, std::size_t n) {
  if (n < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) return 0;
  if (p[6] == 1) return 10 + le16(p + 8);
  if (n < 12) return 0;
  return 12 + static_cast<std::size_t>(le32(p + 8));
}

npy_header parse_npy_header(const unsigned char* p, std::size_t n, const std::string& where) {
  if (n < 6 || std::memcmp(p, "\x93NUMPY", 6) != 0)
    throw error(where + ": not a .npy stream (wrong magic; expected \\x93NUMPY)");
  if (n < 10) throw error(where + ": truncated .npy preamble");
  const int major = p[6], minor = p[7];
  std::size_t pre = 0, hlen = 0;
  if (major == 1) {
    pre = 10;
    hlen = le16(p + 8);
  } else if (major == 2 || major == 3) {
    if (n < 12) throw error(where + ": truncated .npy preamble");
    pre = 12;
    hlen = le32(p + 8);
  } else {
    throw error(where + ": unsupported .npy format version " + std::to_string(major) + "." +
                std::to_string(minor) + " (exmy reads 1.0, 2.0 and 3.0)");
  }
  if (hlen > n - pre)
    throw error(where + ": .npy header length " + std::to_string(hlen) + " exceeds the " +
                std::to_string(n - pre) + " bytes that follow the preamble");
  py_parser parser(reinterpret_cast<const char*>(p + pre), hlen, where);
  const py_value dict = parser.parse_top();
  if (dict.kind != py_value::dict) throw error(where + ": .npy header is not a dict");
  const py_value* descr = nullptr;
  const py_value* fortran = nullptr;
  const py_value* shape = nullptr;
  for (const auto& [k, v] : dict.entries) {
    if (k == "descr") descr = &v;
    else if (k == "fortran_order") fortran = &v;
    else if (k == "shape") shape = &v;
  }
  if (!descr || !fortran || !shape)
    throw error(where + ": .npy header lacks 'descr', 'fortran_order' or 'shape'");
  if (fortran->kind != py_value::boolean) throw error(where + ": 'fortran_order' is not True/False");
  if (shape->kind != py_value::tuple) throw error(where + ": 'shape' is not a tuple");
  npy_header h;
  h.fortran_order = fortran->b;
  for (const py_value& d : shape->items) {
    if (d.kind != py_value::integer) throw error(where + ": 'shape' holds a non-integer");
    h.info.shape.push_back(d.i);
  }
  if (descr->kind == py_value::string) {
    h.info.file_dtype = descr->s;
    dtype t = dtype::f32;
    h.info.supported = decode_descr(descr->s, t, h.big_endian, h.item_size);
    h.info.source = t;
  } else {
    h.info.file_dtype = "structured";  // a list of (name, type) fields: records, not a tensor
    h.info.supported = false;
  }
  const std::int64_t numel = checked_numel(h.info.shape, h.item_size, where);
  h.data_offset = pre + hlen;
  h.data_bytes = static_cast<std::uint64_t>(numel) * h.item_size;
  return h;
}

void convert_to_float(const unsigned char* src, std::size_t count, dtype t, bool big, float* dst) {
  if (count == 0) return;  // empty tensors: dst may be null (memcpy forbids null even for 0 bytes)
  if (t == dtype::f32 && !big) {
    std::memcpy(dst, src, count * 4);  // the common case: a plain copy
    return;
  }
  const std::size_t sz = dtype_size(t);
  for (std::size_t i = 0; i < count; ++i) dst[i] = load_one(src + i * sz, t, big);
}

void convert_fortran_to_c(const unsigned char* src, const std::vector<std::int64_t>& shape,
                          dtype t, bool big, float* dst) {
  const std::size_t nd = shape.size();
  std::int64_t numel = 1;
  for (std::int64_t d : shape) numel *= d;
  if (numel == 0) return;
  if (nd <= 1) {
    convert_to_float(src, static_cast<std::size_t>(numel), t, big, dst);
    return;
  }
  // Fortran strides (elements): stride[0] = 1, stride[k] = stride[k−1]·shape[k−1]. Walk the C
  // order with an odometer over the indices and track the Fortran offset incrementally.
  std::vector<std::int64_t> stride(nd), idx(nd, 0);
  stride[0] = 1;
  for (std::size_t k = 1; k < nd; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  const std::size_t sz = dtype_size(t);
  std::int64_t off = 0;
  const std::int64_t last = shape[nd - 1], last_stride = stride[nd - 1];
  for (std::int64_t i = 0; i < numel; i += last) {
    for (std::int64_t j = 0; j < last; ++j)
      dst[i + j] = load_one(src + static_cast<std::size_t>(off + j * last_stride) * sz, t, big);
    // Advance the odometer over the leading nd − 1 axes.
    for (std::size_t k = nd - 1; k-- > 0;) {
      if (++idx[k] < shape[k]) {
        off += stride[k];
        break;
      }
      off -= stride[k] * (shape[k] - 1);
      idx[k] = 0;
    }
  }
}

}  // namespace exmy
