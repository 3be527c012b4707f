// exmy/ptq/idx.cpp — IDX reader (idx.hpp) over zlib's gz* stream functions, which read gzip and
// plain files alike.
#include "exmy/ptq/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

// Closes the gz stream on every exit path.
struct gz_closer {
  gzFile f;
  ~gz_closer() {
    if (f) gzclose(f);
  }
};

}  // namespace

idx_array read_idx(const std::string& path) {
  const std::string where = "file '" + path + "'";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw error(where + ": cannot open");
  if (!S_ISREG(st.st_mode)) throw error(where + ": not a regular file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw error(where + ": cannot open");
  gz_closer closer{f};
  auto read_exact = [&](unsigned char* dst, std::size_t n, const char* what) {
    std::size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 24));
      const int r = gzread(f, dst + got, chunk);
      if (r < 0) {
        int code = 0;
        throw error(where + ": corrupt gzip stream (" + gzerror(f, &code) + ")");
      }
      if (r == 0) throw error(where + ": truncated " + what);
      got += static_cast<std::size_t>(r);
    }
  };
  // Magic: two zero bytes, the element type (0x08 = unsigned byte) and the number of dimensions.
  unsigned char magic[4];
  read_exact(magic, 4, "IDX header");
  if (magic[0] != 0 || magic[1] != 0)
    throw error(where + ": not an IDX file (wrong magic; expected 00 00 08 NN)");
  if (magic[2] != 0x08)
    throw error(where + ": unsupported IDX element type 0x" +
                std::string(1, "0123456789abcdef"[magic[2] >> 4]) +
                std::string(1, "0123456789abcdef"[magic[2] & 15]) + " (exmy reads unsigned bytes, 0x08)");
  if (magic[3] == 0 || magic[3] > 8) throw error(where + ": IDX dimension count " + std::to_string(magic[3]) + " outside 1…8");
  idx_array a;
  std::int64_t numel = 1;
  for (int k = 0; k < magic[3]; ++k) {
    unsigned char b[4];
    read_exact(b, 4, "IDX header");
    const std::int64_t d = (std::int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];  // big-endian
    if (__builtin_mul_overflow(numel, d, &numel)) throw error(where + ": IDX shape overflows int64");
    a.shape.push_back(d);
  }
  // The data arrive in chunks; the buffer grows with what is actually read, so a corrupt size
  // field cannot trigger a huge allocation before the data prove it.
  const std::size_t total = static_cast<std::size_t>(numel);
  a.data.reserve(std::min<std::size_t>(total, std::size_t{1} << 26));
  std::vector<unsigned char> buf(std::size_t{1} << 20);
  while (a.data.size() < total) {
    const std::size_t want = std::min(buf.size(), total - a.data.size());
    read_exact(buf.data(), want, "IDX data");
    a.data.insert(a.data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(want));
  }
  unsigned char extra;
  const int r = gzread(f, &extra, 1);
  if (r != 0) throw error(where + (r < 0 ? ": corrupt gzip stream after the data" : ": trailing bytes after the IDX data"));
  return a;
}

}  // namespace exmy
