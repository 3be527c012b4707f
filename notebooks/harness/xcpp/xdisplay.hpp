// xcpp/xdisplay.hpp — TEST-ONLY stand-in for xeus-cling's display header, used when
// notebooks/run_notebook.py runs notebook cells through clang-repl-19 (no Jupyter kernel).
//
// xeus-cling's xcpp::display(obj) sends obj's MIME bundle (mime_bundle_repr, found by ADL) to the
// front end. Here it prints the bundle as one line "@@exmy-mime <json>" on stdout, which the
// harness parses and checks; values without a bundle are printed with operator<<, as a trailing
// expression would be in the kernel. Never installed, never included by the library.
#pragma once

#include <iostream>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

namespace xcpp {

namespace detail {

template <class T, class = void>
struct has_mime : std::false_type {};
template <class T>
struct has_mime<T, std::void_t<decltype(mime_bundle_repr(std::declval<const T&>()))>>
    : std::true_type {};

template <class T, class = void>
struct has_ostream : std::false_type {};
template <class T>
struct has_ostream<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

template <class T, class = void>
struct is_range : std::false_type {};
template <class T>
struct is_range<T, std::void_t<decltype(std::begin(std::declval<const T&>())),
                               decltype(std::end(std::declval<const T&>()))>> : std::true_type {};

}  // namespace detail

/// Prints t's MIME bundle (or t itself) the way the harness expects.
template <class T>
void display(const T& t) {
  if constexpr (detail::has_mime<T>::value) {
    std::cout << "\n@@exmy-mime " << nlohmann::json(mime_bundle_repr(t)).dump() << std::endl;
  } else if constexpr (detail::has_ostream<T>::value) {
    std::cout << std::boolalpha << t << std::endl;
  } else if constexpr (detail::is_range<T>::value) {
    std::cout << "{ ";
    bool first = true;
    for (const auto& e : t) {
      if (!first) std::cout << ", ";
      first = false;
      std::cout << e;
    }
    std::cout << " }" << std::endl;
  } else {
    std::cout << "<value without mime_bundle_repr or operator<<>" << std::endl;
  }
}

/// The kernel would clear the cell's output; nothing to do in a batch run.
inline void clear_output(bool = false) {}

}  // namespace xcpp
