// exmy/display/chart.cpp — rasterizer and PNG encoder of display/chart.hpp.
//
// Deliberately small: axis-aligned boxes, 2-px polylines, square markers, grouped bars, decade or
// 1-2-5 ticks, a legend. Text is stb_easy_font's quad font (every glyph is a set of axis-aligned
// rectangles, so drawing it is filling rectangles); PNG bytes come from stb_image_write.
#include "exmy/display/chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "exmy/formats/format_spec.hpp"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>

namespace exmy {

namespace {

// analysis/results_io.py _PALETTE (ColorBrewer Dark2 first), so notebooks and figures agree.
constexpr std::uint32_t k_palette[] = {0x1b9e77, 0xd95f02, 0x7570b3, 0xe7298a, 0x66a61e,
                                       0xe6ab02, 0xa6761d, 0x666666, 0x1f78b4, 0x222222};
constexpr std::uint32_t k_black = 0x000000, k_grid = 0xe6e6e6, k_white = 0xffffff;

struct canvas {
  rgb_image img;
  int clip_x0 = 0, clip_y0 = 0, clip_x1 = 0, clip_y1 = 0;  // drawing limited to [x0,x1)×[y0,y1)

  canvas(int w, int h) {
    img.width = w;
    img.height = h;
    img.pixels.assign(std::size_t(w) * std::size_t(h) * 3, 255);
    unclip();
  }
  void unclip() { clip_x0 = 0, clip_y0 = 0, clip_x1 = img.width, clip_y1 = img.height; }
  void set(int x, int y, std::uint32_t c) {
    if (x < clip_x0 || y < clip_y0 || x >= clip_x1 || y >= clip_y1) return;
    std::uint8_t* p = &img.pixels[(std::size_t(y) * std::size_t(img.width) + std::size_t(x)) * 3];
    p[0] = std::uint8_t(c >> 16), p[1] = std::uint8_t(c >> 8), p[2] = std::uint8_t(c);
  }
  void fill(int x0, int y0, int x1, int y1, std::uint32_t c) {  // [x0,x1)×[y0,y1), any order
    if (x0 > x1) std::swap(x0, x1);
    if (y0 > y1) std::swap(y0, y1);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) set(x, y, c);
  }
  void hline(int x0, int x1, int y, std::uint32_t c) { fill(x0, y, x1 + 1, y + 1, c); }
  void vline(int x, int y0, int y1, std::uint32_t c) { fill(x, y0, x + 1, y1 + 1, c); }
  // Bresenham with a 2×2 pen: visible at any slope without anti-aliasing.
  void line(int x0, int y0, int x1, int y1, std::uint32_t c) {
    const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      fill(x0, y0, x0 + 2, y0 + 2, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
};

// stb_easy_font glyphs are unit rectangles; `scale` magnifies them. Width/height in pixels.
int text_width(const std::string& s, int scale) {
  std::string buf = s;
  return stb_easy_font_width(buf.data()) * scale;
}
constexpr int k_glyph_height = 7;  // stb_easy_font capitals span 7 units

void draw_text(canvas& cv, int x, int y, const std::string& s, std::uint32_t color, int scale) {
  if (s.empty()) return;
  std::string buf = s;
  std::vector<char> vb(s.size() * 400 + 1024);  // ~270 bytes per glyph (stb_easy_font docs)
  const int quads = stb_easy_font_print(0, 0, buf.data(), nullptr, vb.data(), int(vb.size()));
  for (int q = 0; q < quads; ++q) {
    // Four vertices of 16 bytes (x, y, z floats, rgba); corners 0 and 2 are opposite.
    float v0[2], v2[2];
    std::memcpy(v0, vb.data() + q * 64, sizeof v0);
    std::memcpy(v2, vb.data() + q * 64 + 32, sizeof v2);
    cv.fill(x + int(std::lround(v0[0] * float(scale))), y + int(std::lround(v0[1] * float(scale))),
            x + int(std::lround(v2[0] * float(scale))), y + int(std::lround(v2[1] * float(scale))),
            color);
  }
}

std::string tick_text(double v) {
  char b[32];
  if (std::fabs(v) < 1e-300) return "0";
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

struct axis {
  double lo = 0, hi = 1;  // in transformed units (log10 when log)
  bool log = false;
  std::vector<double> ticks;  // transformed units
  std::vector<std::string> labels;
};

// Range of finite transformed values, padded; log axes snap to whole decades.
axis make_axis(std::vector<double> v, bool log, bool include_zero) {
  axis a;
  a.log = log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v) {
    if (log) {
      if (!(x > 0)) continue;
      x = std::log10(x);
    }
    if (!std::isfinite(x)) continue;
    lo = std::min(lo, x), hi = std::max(hi, x);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (include_zero && !log) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (log) {
    lo = std::floor(lo), hi = std::ceil(hi);
    if (hi <= lo) hi = lo + 1;
    const int step = std::max(1, int(std::ceil((hi - lo) / 8)));
    for (double t = lo; t <= hi + 1e-9; t += step) {
      a.ticks.push_back(t);
      const int k = int(std::lround(t));
      char b[32];
      if (k >= -2 && k <= 2) std::snprintf(b, sizeof b, "%g", std::pow(10.0, k));
      else std::snprintf(b, sizeof b, "1e%d", k);
      a.labels.push_back(b);
    }
  } else {
    if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) lo -= 0.5, hi += 0.5;
    const double pad = 0.05 * (hi - lo);
    if (!(include_zero && lo == 0)) lo -= pad;
    if (!(include_zero && hi == 0)) hi += pad;
    const double raw = (hi - lo) / 6, mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / mag;
    const double step = (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
    for (double k = std::ceil(lo / step); k * step <= hi + 1e-9 * step; k += 1) {
      a.ticks.push_back(k * step);
      a.labels.push_back(tick_text(k * step));
    }
  }
  a.lo = lo, a.hi = hi;
  return a;
}

double to_axis(double v, const axis& a) { return a.log ? (v > 0 ? std::log10(v) : NAN) : v; }

void check(const chart& c) {
  if (c.width < 64 || c.width > 4096 || c.height < 64 || c.height > 4096)
    throw error("chart: width/height " + std::to_string(c.width) + "x" + std::to_string(c.height) +
                " outside 64…4096");
  for (const auto& s : c.series) {
    if (c.kind == chart_kind::line && s.x.size() != s.y.size())
      throw error("chart: series '" + s.name + "' has " + std::to_string(s.x.size()) + " x and " +
                  std::to_string(s.y.size()) + " y values");
    if (c.kind == chart_kind::bar && s.y.size() != c.categories.size())
      throw error("chart: bar series '" + s.name + "' has " + std::to_string(s.y.size()) +
                  " values for " + std::to_string(c.categories.size()) + " categories");
  }
}

}  // namespace

std::uint32_t series_color(std::size_t i) { return k_palette[i % std::size(k_palette)]; }

rgb_image render(const chart& c) {
  check(c);
  canvas cv(c.width, c.height);
  const int tick_scale = 1, text_scale = 2;
  const int line_h = k_glyph_height * text_scale;

  // 1. Data ranges.
  std::vector<double> xs, ys;
  for (const auto& s : c.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  const bool bars = c.kind == chart_kind::bar;
  const axis ay = make_axis(ys, c.log_y, bars);
  axis ax;
  if (bars) {
    ax.lo = -0.5, ax.hi = double(c.categories.size()) - 0.5;
    for (std::size_t i = 0; i < c.categories.size(); ++i) {
      ax.ticks.push_back(double(i));
      ax.labels.push_back(c.categories[i]);
    }
  } else {
    ax = make_axis(xs, c.log_x, false);
  }

  // 2. Layout: title on top, y label above the plot, tick labels left and below, x label below.
  int left = 12;
  for (const auto& l : ay.labels) left = std::max(left, text_width(l, text_scale) + 14);
  // Half a line above the plot for the top tick label, so that it never touches the y label.
  const int top = (c.title.empty() ? 8 : line_h + 14) + (c.y_label.empty() ? 0 : line_h + 6) +
                  line_h / 2 + 4;
  const int bottom = line_h + 14 + (c.x_label.empty() ? 0 : line_h + 10);
  int right = 16;  // room for half of the last x tick label
  if (!ax.labels.empty()) right = std::max(right, text_width(ax.labels.back(), text_scale) / 2 + 6);
  const int x0 = left, x1 = c.width - right, y0 = top, y1 = c.height - bottom;
  if (x1 - x0 < 16 || y1 - y0 < 16) throw error("chart: too small for its labels");
  auto px = [&](double t) { return x0 + int(std::lround((t - ax.lo) / (ax.hi - ax.lo) * (x1 - x0))); };
  auto py = [&](double t) { return y1 - int(std::lround((t - ay.lo) / (ay.hi - ay.lo) * (y1 - y0))); };

  // 3. Grid, ticks, labels, frame.
  for (std::size_t i = 0; i < ay.ticks.size(); ++i) {
    const int y = py(ay.ticks[i]);
    cv.hline(x0, x1, y, k_grid);
    cv.hline(x0 - 4, x0, y, k_black);
    draw_text(cv, x0 - 8 - text_width(ay.labels[i], text_scale), y - line_h / 2, ay.labels[i],
              k_black, text_scale);
  }
  for (std::size_t i = 0; i < ax.ticks.size(); ++i) {
    const int x = px(ax.ticks[i]);
    if (!bars) cv.vline(x, y0, y1, k_grid);
    cv.vline(x, y1, y1 + 4, k_black);
    const int sc = bars && text_width(ax.labels[i], text_scale) > (x1 - x0) / int(ax.ticks.size())
                       ? tick_scale
                       : text_scale;
    draw_text(cv, x - text_width(ax.labels[i], sc) / 2, y1 + 8, ax.labels[i], k_black, sc);
  }
  if (!c.title.empty())
    draw_text(cv, (c.width - text_width(c.title, text_scale)) / 2, 6, c.title, k_black, text_scale);
  if (!c.y_label.empty())
    draw_text(cv, 4, top - line_h / 2 - 4 - line_h - 6, c.y_label, k_black, text_scale);
  if (!c.x_label.empty())
    draw_text(cv, (x0 + x1 - text_width(c.x_label, text_scale)) / 2, c.height - line_h - 6,
              c.x_label, k_black, text_scale);

  // 4. Data, clipped to the plot area.
  cv.clip_x0 = x0, cv.clip_y0 = y0, cv.clip_x1 = x1 + 1, cv.clip_y1 = y1 + 1;
  const std::size_t ns = c.series.size();
  for (std::size_t k = 0; k < ns; ++k) {
    const auto& s = c.series[k];
    const std::uint32_t col = s.color >= 0 ? std::uint32_t(s.color) : series_color(k);
    if (bars) {
      const double group = 0.8, w = group / double(std::max<std::size_t>(ns, 1));
      const double base = c.log_y ? ay.lo : std::clamp(0.0, ay.lo, ay.hi);
      for (std::size_t i = 0; i < s.y.size(); ++i) {
        const double v = to_axis(s.y[i], ay);
        if (!std::isfinite(v)) continue;
        const double left_edge = double(i) - group / 2 + w * double(k);
        cv.fill(px(left_edge) + 1, py(base), px(left_edge + w), py(v), col);
      }
      continue;
    }
    bool have_prev = false;
    int qx = 0, qy = 0;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double tx = to_axis(s.x[i], ax), ty = to_axis(s.y[i], ay);
      if (!std::isfinite(tx) || !std::isfinite(ty)) {
        have_prev = false;  // a gap: log of a non-positive value, NaN, inf
        continue;
      }
      const int X = px(tx), Y = py(ty);
      if (s.style != series_style::points && have_prev) cv.line(qx, qy, X, Y, col);
      if (s.style != series_style::line) cv.fill(X - 3, Y - 3, X + 4, Y + 4, col);
      qx = X, qy = Y, have_prev = true;
    }
  }
  cv.unclip();
  cv.hline(x0, x1, y1, k_black);
  cv.vline(x0, y0, y1, k_black);

  // 5. Legend of the named series, top right inside the plot.
  int lw = 0, named = 0;
  for (const auto& s : c.series)
    if (!s.name.empty()) lw = std::max(lw, text_width(s.name, text_scale)), ++named;
  if (named > 0) {
    const int row = line_h + 6, bw = lw + 40, bh = named * row + 8;
    const int bx = x1 - bw - 6, by = y0 + 6;
    cv.fill(bx, by, bx + bw, by + bh, k_white);
    cv.hline(bx, bx + bw, by, k_black), cv.hline(bx, bx + bw, by + bh, k_black);
    cv.vline(bx, by, by + bh, k_black), cv.vline(bx + bw, by, by + bh, k_black);
    int r = 0;
    for (std::size_t k = 0; k < ns; ++k) {
      const auto& s = c.series[k];
      if (s.name.empty()) continue;
      const int ry = by + 6 + r++ * row;
      const std::uint32_t col = s.color >= 0 ? std::uint32_t(s.color) : series_color(k);
      cv.fill(bx + 6, ry + line_h / 2 - 3, bx + 28, ry + line_h / 2 + 3, col);
      draw_text(cv, bx + 34, ry, s.name, k_black, text_scale);
    }
  }
  return std::move(cv.img);
}

std::vector<std::uint8_t> encode_png(const rgb_image& img) {
  std::vector<std::uint8_t> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
    const auto* p = static_cast<const std::uint8_t*>(data);
    v->insert(v->end(), p, p + size);
  };
  if (!stbi_write_png_to_func(sink, &out, img.width, img.height, 3, img.pixels.data(),
                              img.width * 3))
    throw error("chart: PNG encoding failed");
  return out;
}

std::vector<std::uint8_t> render_png(const chart& c) { return encode_png(render(c)); }

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t(bytes[i]) << 16) | (std::uint32_t(bytes[i + 1]) << 8) |
                            bytes[i + 2];
    s += k[v >> 18], s += k[(v >> 12) & 63], s += k[(v >> 6) & 63], s += k[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = std::uint32_t(bytes[i]) << 16;
    s += k[v >> 18], s += k[(v >> 12) & 63], s += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (std::uint32_t(bytes[i]) << 16) | (std::uint32_t(bytes[i + 1]) << 8);
    s += k[v >> 18], s += k[(v >> 12) & 63], s += k[(v >> 6) & 63], s += '=';
  }
  return s;
}

nlohmann::json mime_bundle_repr(const chart& c) {
  std::string plain = "<exmy chart";
  if (!c.title.empty()) plain += " '" + c.title + "'";
  plain += ": " + std::string(c.kind == chart_kind::bar ? "bar" : "line") + ", " +
           std::to_string(c.series.size()) + " series, " + std::to_string(c.width) + "x" +
           std::to_string(c.height) + " px>";
  return nlohmann::json{{"image/png", base64_encode(render_png(c))}, {"text/plain", plain}};
}

}  // namespace exmy
