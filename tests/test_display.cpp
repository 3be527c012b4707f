// Rich display for notebooks (display/mime.hpp, display/chart.hpp), tested without any kernel:
// the MIME bundles hold the values, the PNG is a valid PNG of the requested size that decodes
// (stb_image) and whose bars/lines sit where the data says.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "exmy/display/chart.hpp"
#include "exmy/display/mime.hpp"
#include "exmy/distributions/distribution.hpp"
#include "exmy/sqnr/report.hpp"

#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace {

std::vector<std::uint8_t> base64_decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) out.push_back(std::uint8_t(acc >> (bits -= 8)));
  }
  return out;
}

struct decoded {
  int w = 0, h = 0;
  std::vector<std::uint8_t> rgb;
  std::uint32_t at(int x, int y) const {
    const std::uint8_t* p = &rgb[(std::size_t(y) * std::size_t(w) + std::size_t(x)) * 3];
    return (std::uint32_t(p[0]) << 16) | (std::uint32_t(p[1]) << 8) | p[2];
  }
};

decoded decode_png(const std::vector<std::uint8_t>& png) {
  decoded d;
  int n = 0;
  unsigned char* px = stbi_load_from_memory(png.data(), int(png.size()), &d.w, &d.h, &n, 3);
  REQUIRE(px != nullptr);
  d.rgb.assign(px, px + std::size_t(d.w) * std::size_t(d.h) * 3);
  stbi_image_free(px);
  return d;
}

// PNG signature (ISO/IEC 15948 §5.2).
bool has_png_signature(const std::vector<std::uint8_t>& b) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return b.size() > 8 && std::equal(sig, sig + 8, b.begin());
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

TEST_CASE("base64 matches the RFC 4648 §10 test vectors") {
  auto enc = [](const std::string& s) {
    return exmy::base64_encode(std::vector<std::uint8_t>(s.begin(), s.end()));
  };
  CHECK(enc("") == "");
  CHECK(enc("f") == "Zg==");
  CHECK(enc("fo") == "Zm8=");
  CHECK(enc("foo") == "Zm9v");
  CHECK(enc("foob") == "Zm9vYg==");
  CHECK(enc("fooba") == "Zm9vYmE=");
  CHECK(enc("foobar") == "Zm9vYmFy");
}

TEST_CASE("bar chart: valid PNG of the requested size, bar heights proportional to the values") {
  exmy::chart c;
  c.kind = exmy::chart_kind::bar;
  c.title = "SQNR";
  c.categories = {"a", "b"};
  c.series = {{"", {}, {1.0, 2.0}}};  // no name: no legend swatch of the same colour
  c.width = 320;
  c.height = 240;
  const auto png = exmy::render_png(c);
  REQUIRE(has_png_signature(png));
  const decoded d = decode_png(png);
  CHECK(d.w == 320);
  CHECK(d.h == 240);
  // Height in pixels of the series colour in the column through the centre of each bar group.
  const std::uint32_t col = exmy::series_color(0);
  auto bar_height = [&](double frac) {
    const int x = int(frac * d.w);
    int best = 0;
    for (int dx = -3; dx <= 3; ++dx) {
      int n = 0;
      for (int y = 0; y < d.h; ++y) n += d.at(x + dx, y) == col;
      best = std::max(best, n);
    }
    return best;
  };
  // Bars are centred on slots 0 and 1 of [-0.5, 1.5]: find them by scanning columns.
  int h1 = 0, h2 = 0, first_x = -1, last_x = -1;
  for (int x = 0; x < d.w; ++x) {
    int n = 0;
    for (int y = 0; y < d.h; ++y) n += d.at(x, y) == col;
    if (n > 0 && first_x < 0) first_x = x;
    if (n > 0) last_x = x;
  }
  REQUIRE(first_x >= 0);
  h1 = bar_height(double(first_x + 2) / d.w);
  h2 = bar_height(double(last_x - 2) / d.w);
  REQUIRE(h1 > 10);
  // The axis starts at 0 for bars (value 2 = twice the height of value 1), ±2 px of rounding.
  CHECK(std::abs(h2 - 2 * h1) <= 2);
}

TEST_CASE("line chart: the polyline runs from the lower left to the upper right") {
  exmy::chart c;
  c.series = {{"", {0.0, 1.0}, {0.0, 1.0}}};  // no name: no legend
  c.width = 200;
  c.height = 200;
  const decoded d = decode_png(exmy::render_png(c));
  const std::uint32_t col = exmy::series_color(0);
  int xmin = d.w, xmax = -1, y_at_xmin = -1, y_at_xmax = -1;
  for (int x = 0; x < d.w; ++x)
    for (int y = 0; y < d.h; ++y)
      if (d.at(x, y) == col) {
        if (x < xmin) xmin = x, y_at_xmin = y;
        if (x > xmax) xmax = x, y_at_xmax = y;
      }
  REQUIRE(xmax > xmin + 50);
  CHECK(y_at_xmin > y_at_xmax + 50);  // image y grows downwards
}

TEST_CASE("an explicit series colour replaces the palette colour") {
  exmy::chart c;
  c.kind = exmy::chart_kind::bar;
  c.categories = {"a"};
  c.series = {{"", {}, {1.0}, exmy::series_style::line, 0x123456}};
  const decoded d = decode_png(exmy::render_png(c));
  int own = 0, palette = 0;
  for (int y = 0; y < d.h; ++y)
    for (int x = 0; x < d.w; ++x) own += d.at(x, y) == 0x123456, palette += d.at(x, y) == exmy::series_color(0);
  CHECK(own > 100);
  CHECK(palette == 0);
}

TEST_CASE("log axes skip non-positive values instead of failing") {
  exmy::chart c;
  c.log_x = c.log_y = true;
  c.series = {{"mse", {0.0, 0.1, 1.0, 10.0}, {1e-3, 1e-4, -1.0, 1e-5}, exmy::series_style::line_points}};
  CHECK(has_png_signature(exmy::render_png(c)));
}

TEST_CASE("chart descriptions that do not fit are refused with exmy::error") {
  exmy::chart c;
  c.kind = exmy::chart_kind::bar;
  c.categories = {"a", "b", "c"};
  c.series = {{"s", {}, {1.0, 2.0}}};
  CHECK_THROWS_AS(exmy::render(c), exmy::error);
  exmy::chart l;
  l.series = {{"s", {1.0}, {1.0, 2.0}}};
  CHECK_THROWS_AS(exmy::render(l), exmy::error);
  l.series.clear();
  l.width = 10;
  CHECK_THROWS_AS(exmy::render(l), exmy::error);
}

TEST_CASE("chart MIME bundle: base64 PNG that decodes to the chart, plus text/plain") {
  exmy::chart c;
  c.title = "t";
  c.series = {{"s", {1.0, 2.0, 3.0}, {1.0, 4.0, 9.0}}};
  const nlohmann::json b = mime_bundle_repr(c);  // found by ADL, as xeus-cling finds it
  REQUIRE(b.contains("image/png"));
  REQUIRE(b.contains("text/plain"));
  const auto png = base64_decode(b["image/png"].get<std::string>());
  CHECK(png == exmy::render_png(c));
  const decoded d = decode_png(png);
  CHECK(d.w == 640);
  CHECK(d.h == 400);
  CHECK(b["text/plain"].get<std::string>().find("1 series") != std::string::npos);
}

TEST_CASE("format table bundle holds each format's limits in HTML and plain text") {
  // Paper grids (reference-spec §6.3): e4m3 max (2 − 2^−3)·2^(15−8) = 240, e5m2 max
  // (2 − 2^−2)·2^(31−16) = 57344; int8 (paper range) max 127.
  exmy::format_table t{{exmy::parse_format("e4m3"), exmy::parse_format("e5m2"),
                        exmy::parse_format("int8")}};
  const nlohmann::json b = mime_bundle_repr(t);
  const std::string html = b["text/html"], text = b["text/plain"];
  for (const char* s : {"<td>e4m3</td>", "<td>240</td>", "<td>e5m2</td>", "<td>57344</td>",
                        "<td>int8</td>", "<td>127</td>"})
    CHECK_MESSAGE(html.find(s) != std::string::npos, s);
  CHECK(text.find("57344") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);  // header + 3 rows
  // One format alone: the same table with one row.
  CHECK(mime_bundle_repr(exmy::parse_format("e4m3"))["text/html"].get<std::string>().find(
            "<td>240</td>") != std::string::npos);
}

TEST_CASE("analytic result bundle shows the record's numbers") {
  const exmy::distribution d = exmy::parse_distribution("normal:mu=0,sigma=1,clip=10");
  exmy::evaluate_options o;
  o.method = exmy::range_method::optimal;
  const exmy::sqnr_record r = exmy::evaluate(d, exmy::parse_format("e3m4"), o);
  const nlohmann::json b = mime_bundle_repr(exmy::sqnr_table{{r}});
  const std::string html = b["text/html"], text = b["text/plain"];
  CHECK(html.find("<td>e3m4</td>") != std::string::npos);
  CHECK(html.find("<td>" + fmt("%.7g", r.maxval) + "</td>") != std::string::npos);
  CHECK(html.find("<td>" + fmt("%.2f", r.moments.sqnr_db()) + "</td>") != std::string::npos);
  CHECK(html.find("<td>" + fmt("%.2f", r.dot_sqnr_db) + "</td>") != std::string::npos);
  CHECK(text.find(fmt("%.2f", r.moments.paper_db())) != std::string::npos);
  CHECK(mime_bundle_repr(r) == b);
}

TEST_CASE("html_escape escapes markup") {
  CHECK(exmy::html_escape("a<b>&\"c\"") == "a&lt;b&gt;&amp;&quot;c&quot;");
}
