// exmy/distributions/number_text.hpp — shortest round-trip text of a double, for canonical
// distribution specs and error messages ("0.1", "1e+300", "-inf").
#pragma once

#include <charconv>
#include <string>

namespace exmy::detail {

/// The shortest decimal text that reads back as exactly `v` (std::to_chars).
inline std::string number_text(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace exmy::detail
