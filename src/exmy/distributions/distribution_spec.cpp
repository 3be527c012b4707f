// exmy/distributions/distribution_spec.cpp — canonical text of a distribution and its parser
// ("student_t:nu=8,clip=100"; the grammar is documented at parse_distribution()).
#include <cstdlib>
#include <map>
#include <set>
#include <utility>

#include "exmy/distributions/distribution.hpp"
#include "exmy/distributions/number_text.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

using detail::number_text;

std::string bounds_text(const bounds& b) {
  if (b.kind == bound_kind::none) return "";
  const std::string k = b.kind == bound_kind::clip ? "clip" : "trunc";
  if (std::isfinite(b.hi) && b.lo == -b.hi) return "," + k + "=" + number_text(b.hi);
  std::string s;
  if (std::isfinite(b.lo)) s += "," + k + "_lo=" + number_text(b.lo);
  if (std::isfinite(b.hi)) s += "," + k + "_hi=" + number_text(b.hi);
  return s;
}

struct spec_parser {
  const std::string& spec;
  std::string family;
  std::map<std::string, double> values;
  std::map<std::string, std::string> tokens;  // key → "key=value" as written

  [[noreturn]] void fail(const std::string& what) const {
    throw error("distribution '" + spec + "': " + what);
  }

  void parse(const std::set<std::string>& keys) {
    const auto colon = spec.find(':');
    std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
    std::size_t pos = 0;
    while (colon != std::string::npos) {
      const auto comma = rest.find(',', pos);
      const std::string tok = rest.substr(pos, comma == std::string::npos ? comma : comma - pos);
      const auto eq = tok.find('=');
      if (tok.empty() || eq == std::string::npos || eq == 0)
        fail("bad token '" + tok + "' (expected key=value)");
      const std::string key = tok.substr(0, eq), val = tok.substr(eq + 1);
      if (!keys.count(key)) {
        std::string list;
        for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
        fail("unknown key '" + key + "' for " + family + " (expected " + list + ")");
      }
      if (values.count(key)) fail("duplicate key '" + key + "'");
      char* end = nullptr;
      const double v = val.empty() ? NAN : std::strtod(val.c_str(), &end);
      if (val.empty() || end != val.c_str() + val.size() || !std::isfinite(v))
        fail("bad number '" + val + "' in '" + tok + "'");
      values[key] = v;
      tokens[key] = tok;
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }

  bool has(const std::string& k) const { return values.count(k) != 0; }
  double get(const std::string& k, double def) const { return has(k) ? values.at(k) : def; }
  double need(const std::string& k) const {
    if (!has(k)) fail(family + " needs " + k + "=…");
    return values.at(k);
  }
  void positive(const std::string& k) const {
    if (has(k) && !(values.at(k) > 0)) fail("'" + tokens.at(k) + "': " + k + " must be > 0");
  }

  bounds read_bounds() const {
    bounds b;
    for (const std::string k : {"clip", "trunc"}) {
      const bool sym = has(k), lo = has(k + "_lo"), hi = has(k + "_hi");
      if (!(sym || lo || hi)) continue;
      if (b.kind != bound_kind::none) fail("cannot both clip and truncate");
      if (sym && (lo || hi)) fail("'" + tokens.at(k) + "' together with " + k + "_lo/" + k + "_hi");
      b.kind = k == "clip" ? bound_kind::clip : bound_kind::trunc;
      if (sym) {
        positive(k);
        b.lo = -values.at(k);
        b.hi = values.at(k);
      } else {
        b.lo = get(k + "_lo", -INFINITY);
        b.hi = get(k + "_hi", INFINITY);
        if (!(b.lo < b.hi))
          fail("'" + tokens.at(k + "_lo") + "' is not below '" + tokens.at(k + "_hi") + "'");
      }
    }
    return b;
  }
};

// Builds the distribution, naming the spec in errors the constructor raises (support, bounds).
template <class Law>
distribution build(const spec_parser& p, Law law, const bounds& b) {
  try {
    return distribution(std::move(law), b);
  } catch (const error& e) {
    p.fail(e.what());
  }
}

}  // namespace

std::string to_string(const distribution& d) {
  std::string s;
  const auto& l = d.law();
  if (auto* u = std::get_if<uniform_law>(&l)) {
    s = "uniform:lo=" + number_text(u->lo) + ",hi=" + number_text(u->hi);
  } else if (auto* n = std::get_if<normal_law>(&l)) {
    s = "normal:mu=" + number_text(n->mu) + ",sigma=" + number_text(n->sigma);
  } else if (auto* t = std::get_if<student_t_law>(&l)) {
    s = "student_t:nu=" + number_text(t->nu());
    if (t->mu() != 0) s += ",mu=" + number_text(t->mu());
    if (t->scale() != 1) s += ",scale=" + number_text(t->scale());
  } else if (auto* p = std::get_if<laplace_law>(&l)) {
    s = "laplace:";
    if (p->mu != 0) s += "mu=" + number_text(p->mu) + ",";
    s += "b=" + number_text(p->b);
  } else if (auto* g = std::get_if<generic_law>(&l)) {
    s = "generic:" + g->name;
  } else if (auto* e = std::get_if<empirical_law>(&l)) {
    s = "empirical:n=" + std::to_string(size(*e));
  }
  return s + bounds_text(d.restriction());
}

distribution parse_distribution(const std::string& spec) {
  spec_parser p{spec, spec.substr(0, spec.find(':')), {}, {}};
  const std::set<std::string> common{"clip", "clip_lo", "clip_hi", "trunc", "trunc_lo", "trunc_hi"};
  auto keys = [&](std::initializer_list<const char*> own) {
    std::set<std::string> k(common);
    for (const char* o : own) k.insert(o);
    return k;
  };
  if (p.family == "uniform") {
    p.parse(keys({"lo", "hi"}));
    const double lo = p.need("lo"), hi = p.need("hi");
    if (!(lo < hi)) p.fail("'" + p.tokens.at("lo") + "' is not below '" + p.tokens.at("hi") + "'");
    return build(p, uniform_law{lo, hi}, p.read_bounds());
  }
  if (p.family == "normal") {
    p.parse(keys({"mu", "sigma"}));
    p.positive("sigma");
    return build(p, normal_law{p.get("mu", 0), p.get("sigma", 1)}, p.read_bounds());
  }
  if (p.family == "student_t") {
    p.parse(keys({"nu", "scale", "mu"}));
    const double nu = p.need("nu");
    p.positive("nu");
    p.positive("scale");
    const bounds b = p.read_bounds();
    if (nu <= 2 && (b.kind == bound_kind::none || !std::isfinite(b.lo) || !std::isfinite(b.hi)))
      p.fail("'" + p.tokens.at("nu") +
             "' gives an infinite second moment: add clip=C or trunc=C (both sides bounded)");
    return build(p, student_t_law(nu, p.get("scale", 1), p.get("mu", 0)), b);
  }
  if (p.family == "laplace") {
    p.parse(keys({"b", "mu"}));
    p.positive("b");
    return build(p, laplace_law{p.get("mu", 0), p.get("b", 1)}, p.read_bounds());
  }
  throw error("unknown distribution family '" + p.family + "' in '" + spec +
              "' (expected uniform, normal, student_t, laplace)");
}

}  // namespace exmy
