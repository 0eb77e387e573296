// ASCII character helpers for HTML names: browsers compare tag and
// attribute names ASCII case-insensitively, whatever the locale.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string_view>

namespace stube::kernel_detail {

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr bool one_of(std::string_view name,
                      std::initializer_list<std::string_view> names) noexcept {
  for (std::string_view n : names)
    if (iequals(name, n)) return true;
  return false;
}

}  // namespace stube::kernel_detail
