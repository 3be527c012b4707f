// exmy/ptq/npz.cpp — the `.npz` reader: a zip archive (PKWARE APPNOTE 6.3: end-of-central-directory
// record, zip64 locator/record and extra field, central directory, local headers) whose members
// are `.npy` streams, stored (method 0) or deflated (method 8, inflated with zlib). The archive is
// memory-mapped; a stored member is converted in place, a deflated one is inflated into a buffer
// that grows only as data actually arrives (a corrupt size field cannot force a huge allocation).
// CRC-32 of every member is checked.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/mapped_file.hpp"
#include "exmy/ptq/npy_format.hpp"
#include "exmy/ptq/tensor_source.hpp"

namespace exmy {
namespace {

std::uint16_t le16(const unsigned char* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
         (std::uint32_t(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) {
  return std::uint64_t(le32(p)) | (std::uint64_t(le32(p + 4)) << 32);
}

struct zip_member {
  std::string name;          // as stored ("w.npy")
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;
  std::uint64_t csize = 0, usize = 0;
  std::uint64_t data_offset = 0;  // start of the (compressed) data in the archive
};

// Largest expansion deflate can achieve (RFC 1951: a 258-byte match costs at least 1 bit, so
// ~1032:1); used only to bound the first reservation of an inflate buffer.
constexpr std::uint64_t k_max_deflate_ratio = 1032;

class npz_source final : public tensor_source {
 public:
  explicit npz_source(const std::string& path) : file_(path), where_(where_file(path)) {
    read_directory();
    // Names drop ".npy" (numpy.load does the same); a repeated name is a corrupt archive here.
    std::set<std::string> seen;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      infos_.push_back(member_info(i));
      if (!seen.insert(infos_.back().name).second) fail("duplicate member '" + infos_.back().name + "'");
    }
  }
  const std::vector<tensor_info>& list() const override { return infos_; }

  void read_into(std::size_t index, tensor& t) override {
    const zip_member& m = members_[index];
    const std::string where = where_tensor(file_.path(), infos_[index].name);
    std::vector<unsigned char> inflated;
    const unsigned char* stream = nullptr;
    std::size_t stream_size = 0;
    if (m.method == 0) {
      stream = file_.data() + m.data_offset;
      stream_size = static_cast<std::size_t>(m.usize);
      check_crc(stream, stream_size, m, where);
    } else {
      inflated = inflate_member(m, std::numeric_limits<std::uint64_t>::max(), where);
      stream = inflated.data();
      stream_size = inflated.size();
    }
    const npy_header h = parse_npy_header(stream, stream_size, where);
    if (h.data_bytes != stream_size - h.data_offset)
      throw error(where + ": the member holds " + std::to_string(stream_size - h.data_offset) +
                  " data bytes, its header's shape needs " + std::to_string(h.data_bytes));
    t.name = infos_[index].name;
    t.shape = h.info.shape;
    t.source = h.info.source;
    t.data.resize(static_cast<std::size_t>(h.info.numel()));
    if (h.fortran_order)
      convert_fortran_to_c(stream + h.data_offset, t.shape, t.source, h.big_endian, t.data.data());
    else
      convert_to_float(stream + h.data_offset, t.data.size(), t.source, h.big_endian,
                       t.data.data());
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw error(where_ + ": corrupt .npz (zip) archive: " + what);
  }

  // 1. End of central directory (22 bytes + comment ≤ 65535), searched backwards; 2. zip64
  // locator/record when a field is saturated; 3. the central directory entries; 4. each local
  // header, for the offset of the data.
  void read_directory() {
    const unsigned char* d = file_.data();
    const std::size_t n = file_.size();
    if (n < 22) fail("file shorter than an end-of-central-directory record");
    std::size_t eocd = std::string::npos;
    const std::size_t lowest = n >= 22 + 65535 ? n - 22 - 65535 : 0;
    for (std::size_t i = n - 22 + 1; i-- > lowest;) {
      if (le32(d + i) == 0x06054b50u && i + 22 + le16(d + i + 20) == n) {
        eocd = i;
        break;
      }
    }
    if (eocd == std::string::npos) {
      if (n >= 4 && le32(d) != 0x04034b50u) fail("wrong magic (not a zip archive)");
      fail("no end-of-central-directory record (truncated?)");
    }
    std::uint64_t entries = le16(d + eocd + 10);
    std::uint64_t cd_size = le32(d + eocd + 12);
    std::uint64_t cd_off = le32(d + eocd + 16);
    if (le16(d + eocd + 4) != 0 || le16(d + eocd + 6) != 0) fail("multi-disk archives are not supported");
    if (entries == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
      if (eocd < 20 || le32(d + eocd - 20) != 0x07064b50u) fail("zip64 locator missing");
      const std::uint64_t rec = le64(d + eocd - 20 + 8);
      if (n < 56 || rec > n - 56 || le32(d + rec) != 0x06064b50u) fail("zip64 end record missing");
      entries = le64(d + rec + 32);
      cd_size = le64(d + rec + 40);
      cd_off = le64(d + rec + 48);
    }
    if (cd_off > n || cd_size > n - cd_off) fail("central directory lies beyond the file");
    // Each entry takes at least 46 bytes: a count that cannot fit is corrupt (bounds the loop).
    if (entries > cd_size / 46) fail("entry count larger than the central directory");
    std::size_t pos = static_cast<std::size_t>(cd_off);
    const std::size_t cd_end = static_cast<std::size_t>(cd_off + cd_size);
    for (std::uint64_t e = 0; e < entries; ++e) {
      if (cd_end - pos < 46 || le32(d + pos) != 0x02014b50u) fail("bad central directory entry");
      zip_member m;
      m.flags = le16(d + pos + 8);
      m.method = le16(d + pos + 10);
      m.crc = le32(d + pos + 16);
      m.csize = le32(d + pos + 20);
      m.usize = le32(d + pos + 24);
      const std::size_t name_len = le16(d + pos + 28), extra_len = le16(d + pos + 30),
                        comment_len = le16(d + pos + 32);
      std::uint64_t local = le32(d + pos + 42);
      if (cd_end - pos - 46 < name_len + extra_len + comment_len) fail("entry runs past the directory");
      m.name.assign(reinterpret_cast<const char*>(d + pos + 46), name_len);
      // Zip64 extended information (header id 1): the saturated fields, in this order.
      const unsigned char* x = d + pos + 46 + name_len;
      for (std::size_t k = 0; k + 4 <= extra_len;) {
        const std::uint16_t id = le16(x + k), len = le16(x + k + 2);
        if (k + 4 + len > extra_len) fail("extra field runs past its entry");
        if (id == 1) {
          std::size_t f = k + 4;
          auto take = [&](std::uint64_t& v) {
            if (v != 0xffffffffu) return;
            if (f + 8 > k + 4 + len) fail("short zip64 extra field");
            v = le64(x + f);
            f += 8;
          };
          take(m.usize);
          take(m.csize);
          take(local);
        }
        k += 4 + len;
      }
      pos += 46 + name_len + extra_len + comment_len;
      if (m.flags & 1u) fail("member '" + m.name + "' is encrypted");
      if (m.method != 0 && m.method != 8)
        fail("member '" + m.name + "' uses compression method " + std::to_string(m.method) +
             " (exmy reads stored and deflated members)");
      if (local > n || n - local < 30 || le32(d + local) != 0x04034b50u)
        fail("member '" + m.name + "': bad local header");
      const std::uint64_t data = local + 30 + le16(d + local + 26) + le16(d + local + 28);
      if (data > n || m.csize > n - data) fail("member '" + m.name + "': data runs past the file");
      if (m.method == 0 && m.usize != m.csize) fail("member '" + m.name + "': stored sizes differ");
      m.data_offset = data;
      members_.push_back(std::move(m));
    }
  }

  void check_crc(const unsigned char* p, std::size_t n, const zip_member& m,
                 const std::string& where) const {
    uLong c = crc32(0L, Z_NULL, 0);
    for (std::size_t off = 0; off < n;) {
      const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n - off, 1u << 30));
      c = crc32(c, p + off, chunk);
      off += chunk;
    }
    if (static_cast<std::uint32_t>(c) != m.crc) throw error(where + ": CRC-32 mismatch (corrupt member)");
  }

  // Inflates at most `limit` bytes of a deflated member (the whole member when limit is the max:
  // then the size and CRC are checked too).
  std::vector<unsigned char> inflate_member(const zip_member& m, std::uint64_t limit,
                                            const std::string& where) const {
    const bool whole = limit == std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t want = std::min(m.usize, limit);
    std::vector<unsigned char> out;
    out.reserve(static_cast<std::size_t>(
        std::min<std::uint64_t>(want, m.csize * k_max_deflate_ratio + 65536)));
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw error(where + ": zlib initialisation failed");
    const unsigned char* in = file_.data() + m.data_offset;
    std::uint64_t in_left = m.csize;
    unsigned char buf[1 << 16];
    int rc = Z_OK;
    while (out.size() < want && rc != Z_STREAM_END) {
      if (zs.avail_in == 0 && in_left > 0) {
        const uInt chunk = static_cast<uInt>(std::min<std::uint64_t>(in_left, 1u << 30));
        zs.next_in = const_cast<Bytef*>(in);
        zs.avail_in = chunk;
        in += chunk;
        in_left -= chunk;
      }
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0)) {
        inflateEnd(&zs);
        throw error(where + ": corrupt deflate data (" + (zs.msg ? zs.msg : "zlib error") + ")");
      }
      const std::size_t got = sizeof buf - zs.avail_out;
      if (out.size() + got > m.usize) {
        inflateEnd(&zs);
        throw error(where + ": member inflates to more than its declared " +
                    std::to_string(m.usize) + " bytes");
      }
      out.insert(out.end(), buf, buf + got);
      if (got == 0 && zs.avail_in == 0 && in_left == 0 && rc != Z_STREAM_END) break;  // input exhausted
    }
    inflateEnd(&zs);
    if (whole) {
      if (out.size() != m.usize)
        throw error(where + ": truncated member (" + std::to_string(out.size()) + " of " +
                    std::to_string(m.usize) + " bytes)");
      check_crc(out.data(), out.size(), m, where);
    } else if (out.size() > want) {
      out.resize(static_cast<std::size_t>(want));
    }
    return out;
  }

  // The header of member i: the first bytes (stored: in place; deflated: inflate a prefix).
  tensor_info member_info(std::size_t i) const {
    const zip_member& m = members_[i];
    std::string name = m.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    const std::string where = where_tensor(file_.path(), name);
    npy_header h;
    if (m.method == 0) {
      h = parse_npy_header(file_.data() + m.data_offset, static_cast<std::size_t>(m.usize), where);
    } else {
      std::vector<unsigned char> pre = inflate_member(m, 12, where);
      const std::size_t extent = npy_header_extent(pre.data(), pre.size());
      if (extent == 0) h = parse_npy_header(pre.data(), pre.size(), where);  // throws the reason
      pre = inflate_member(m, extent, where);
      h = parse_npy_header(pre.data(), pre.size(), where);
    }
    // Sizes are checked where the element size is known (not for structured / object dtypes).
    if (h.item_size > 0 && h.data_offset + h.data_bytes != m.usize)
      throw error(where + ": the member's size " + std::to_string(m.usize) +
                  " does not match its header (" + std::to_string(h.data_offset) + " + " +
                  std::to_string(h.data_bytes) + " bytes)");
    h.info.name = name;
    return h.info;
  }

  mapped_file file_;
  std::string where_;
  std::vector<zip_member> members_;
  std::vector<tensor_info> infos_;
};

}  // namespace

std::unique_ptr<tensor_source> open_npz(const std::string& path) {
  return std::make_unique<npz_source>(path);
}

}  // namespace exmy
