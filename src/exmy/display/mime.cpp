// exmy/display/mime.cpp — the tables behind display/mime.hpp: one column list per table, rendered
// both as HTML and as aligned plain text so that a terminal and a notebook show the same numbers.
#include "exmy/display/mime.hpp"

#include <algorithm>
#include <cstdio>

namespace exmy {

namespace {

using table = std::vector<std::vector<std::string>>;  // first row: header

std::string num(double v, int digits = 6) {
  char b[40];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

std::string fixed(double v, int decimals) {
  char b[40];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

nlohmann::json bundle(const table& t, const std::string& caption) {
  // HTML: the first row is the header.
  std::string html = "<table class=\"exmy\">";
  if (!caption.empty()) html += "<caption>" + html_escape(caption) + "</caption>";
  for (std::size_t r = 0; r < t.size(); ++r) {
    html += "<tr>";
    for (const auto& cell : t[r])
      html += (r == 0 ? "<th>" : "<td>") + html_escape(cell) + (r == 0 ? "</th>" : "</td>");
    html += "</tr>";
  }
  html += "</table>";
  // Plain text: columns padded to their widest cell.
  std::vector<std::size_t> w;
  for (const auto& row : t)
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (w.size() <= c) w.push_back(0);
      w[c] = std::max(w[c], row[c].size());
    }
  std::string text = caption.empty() ? "" : caption + "\n";
  for (const auto& row : t) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c) line += "  ";
      line += row[c] + std::string(w[c] - row[c].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  return nlohmann::json{{"text/html", html}, {"text/plain", text}};
}

std::string encoding_of(const format_spec& f) {
  return f.is_float() ? to_string(f.enc) : std::string("int:") + to_string(f.irange);
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += ch;
    }
  }
  return o;
}

nlohmann::json mime_bundle_repr(const format_table& t) {
  table rows{{"name", "bits", "E", "M", "bias", "encoding", "max", "min normal", "min subnormal",
              "values", "epsilon"}};
  for (const auto& f : t.formats) {
    const format_limits L = limits(f);
    rows.push_back({f.name, std::to_string(f.bits), std::to_string(f.is_float() ? f.exp_bits : 0),
                    std::to_string(f.is_float() ? f.man_bits : 0),
                    f.is_float() ? std::to_string(f.native_bias) : "-", encoding_of(f),
                    num(L.max, 9), num(L.min_normal, 9), num(L.min_subnormal, 9),
                    std::to_string(L.finite_values), num(L.epsilon, 9)});
  }
  return bundle(rows, "");
}

nlohmann::json mime_bundle_repr(const format_spec& f) { return mime_bundle_repr(format_table{{f}}); }

nlohmann::json mime_bundle_repr(const sqnr_table& t) {
  table rows{{"distribution", "format", "range", "maxval", "MSE", "SQNR dB", "paper dB",
              "dot SQNR dB", "clip MSE", "round MSE", "subnormal MSE"}};
  for (const auto& r : t.records) {
    const auto& m = r.moments;
    rows.push_back({r.distribution, r.format, to_string(r.method), num(r.maxval, 7), num(m.mse, 4),
                    fixed(m.sqnr_db(), 2), fixed(m.paper_db(), 2), fixed(r.dot_sqnr_db, 2),
                    num(m.clip_mse, 3), num(m.round_mse, 3), num(m.subnormal_mse, 3)});
  }
  return bundle(rows, "");
}

nlohmann::json mime_bundle_repr(const sqnr_record& r) { return mime_bundle_repr(sqnr_table{{r}}); }

}  // namespace exmy
