// The printer: compact pr-str-compatible text, and a pretty form for people.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "edn/instant.hpp"
#include "edn/node.hpp"
#include "edn/utf8.hpp"

namespace stube::edn {

namespace {

using detail::TextNode;

// Escapes exactly the characters Clojure's printer escapes in strings.
constexpr char escape_for(unsigned char c) noexcept {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '\n': return 'n';
    case '\t': return 't';
    case '\r': return 'r';
    case '\b': return 'b';
    case '\f': return 'f';
    default: return 0;
  }
}

struct EscapeTable {
  bool needs[256] = {};
  constexpr EscapeTable() {
    for (int c = 0; c < 256; ++c) needs[c] = escape_for(static_cast<unsigned char>(c)) != 0;
  }
};
constexpr EscapeTable kEscape;

void write_string(std::string_view s, std::string& out) {
  out.push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  const char* run = p;
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!kEscape.needs[c]) [[likely]]
      continue;
    out.append(run, static_cast<std::size_t>(p - run));
    out.push_back('\\');
    out.push_back(escape_for(c));
    run = p + 1;
  }
  out.append(run, static_cast<std::size_t>(end - run));
  out.push_back('"');
}

void write_char(char32_t c, std::string& out) {
  switch (c) {
    case '\n': out.append("\\newline"); return;
    case ' ': out.append("\\space"); return;
    case '\t': out.append("\\tab"); return;
    case '\r': out.append("\\return"); return;
    case '\f': out.append("\\formfeed"); return;
    case '\b': out.append("\\backspace"); return;
    default: break;
  }
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(c));
    out.append(buf);
    return;
  }
  out.push_back('\\');
  detail::append_utf8(c, out);
}

void write_int(std::int64_t i, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

// Java's Double.toString layout over the shortest round-trip digits:
// plain notation for 1e-3 <= |d| < 1e7, otherwise d.dddE[-]n.
void write_double(double d, std::string& out) {
  if (std::isnan(d)) {
    out.append("##NaN");
    return;
  }
  if (std::isinf(d)) {
    out.append(d > 0 ? "##Inf" : "##-Inf");
    return;
  }
  if (d == 0) {
    out.append(std::signbit(d) ? "-0.0" : "0.0");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  // buf: [-]D[.DDD]e[+-]XX
  const char* p = buf;
  if (*p == '-') {
    out.push_back('-');
    ++p;
  }
  char digits[20];
  std::size_t nd = 0;
  const char* e = p;
  for (; *e != 'e'; ++e)
    if (*e != '.') digits[nd++] = *e;
  int exp = 0;
  std::from_chars(e + 1 + (e[1] == '+'), r.ptr, exp);
  const double mag = std::fabs(d);
  if (mag >= 1e-3 && mag < 1e7) {
    if (exp >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exp) + 1;
      for (std::size_t i = 0; i < int_len; ++i) out.push_back(i < nd ? digits[i] : '0');
      out.push_back('.');
      if (nd > int_len)
        out.append(digits + int_len, nd - int_len);
      else
        out.push_back('0');
    } else {
      out.append("0.");
      out.append(static_cast<std::size_t>(-exp - 1), '0');
      out.append(digits, nd);
    }
    return;
  }
  out.push_back(digits[0]);
  out.push_back('.');
  if (nd > 1)
    out.append(digits + 1, nd - 1);
  else
    out.push_back('0');
  out.push_back('E');
  write_int(exp, out);
}

// #object[label "0x..."]: a label that is not a valid symbol is made one.
void write_opaque(const Value& v, std::string& out) {
  out.append("#object[");
  const std::string_view label = v.opaque_label();
  if (label.empty()) out.append("opaque");
  for (char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
    out.push_back(ok ? c : '_');
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, " \"%p\"]", static_cast<const void*>(v.node()));
  out.append(buf);
}

void write_value(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Kind::Nil: out.append("nil"); return;
    case Kind::Bool: out.append(v.as_bool() ? "true" : "false"); return;
    case Kind::Int: write_int(v.as_int(), out); return;
    case Kind::Float: write_double(v.as_double(), out); return;
    case Kind::BigInt: out.append(v.number_text()).push_back('N'); return;
    case Kind::Decimal: out.append(v.number_text()).push_back('M'); return;
    case Kind::Ratio: out.append(v.number_text()); return;
    case Kind::Char: write_char(v.as_char(), out); return;
    case Kind::String: write_string(v.as_string(), out); return;
    case Kind::Symbol: out.append(v.as_symbol()); return;
    case Kind::Keyword: out.push_back(':'); out.append(v.as_keyword()); return;
    case Kind::Inst: out.append("#inst \""); detail::format_instant(v.as_inst(), out); out.push_back('"'); return;
    case Kind::Uuid: out.append("#uuid \""); detail::format_uuid(v.as_uuid(), out); out.push_back('"'); return;
    case Kind::Tagged:
      out.push_back('#');
      out.append(v.tag());
      out.push_back(' ');
      write_value(v.tagged_value(), out);
      return;
    case Kind::Opaque: write_opaque(v, out); return;
    case Kind::Map: {
      out.push_back('{');
      bool first = true;
      for (const MapEntry& e : v.entries()) {
        if (!first) out.append(", ");
        first = false;
        write_value(e.key, out);
        out.push_back(' ');
        write_value(e.val, out);
      }
      out.push_back('}');
      return;
    }
    case Kind::List:
    case Kind::Vector:
    case Kind::Set: {
      out.append(v.kind() == Kind::List ? "(" : v.kind() == Kind::Vector ? "[" : "#{");
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) out.push_back(' ');
        first = false;
        write_value(item, out);
      }
      out.push_back(v.kind() == Kind::List ? ')' : v.kind() == Kind::Vector ? ']' : '}');
      return;
    }
  }
}

// --- pretty -------------------------------------------------------------------

void pretty_value(const Value& v, std::size_t indent, std::size_t width, std::string& out) {
  const std::size_t mark = out.size();
  write_value(v, out);
  const bool is_coll = v.is(Kind::Map) || v.is(Kind::Vector) || v.is(Kind::List) || v.is(Kind::Set);
  if (!is_coll || indent + (out.size() - mark) <= width || v.empty()) return;
  out.resize(mark);
  const std::string_view open = v.is(Kind::Map) ? "{" : v.is(Kind::Vector) ? "[" : v.is(Kind::List) ? "(" : "#{";
  out.append(open);
  const std::size_t inner = indent + open.size();
  bool first = true;
  auto newline = [&] {
    if (!first) {
      if (v.is(Kind::Map)) out.push_back(',');
      out.push_back('\n');
      out.append(inner, ' ');
    }
    first = false;
  };
  if (v.is(Kind::Map)) {
    for (const MapEntry& e : v.entries()) {
      newline();
      const std::size_t key_mark = out.size();
      write_value(e.key, out);
      out.push_back(' ');
      pretty_value(e.val, inner + (out.size() - key_mark), width, out);
    }
  } else {
    for (const Value& item : v.items()) {
      newline();
      pretty_value(item, inner, width, out);
    }
  }
  out.append(v.is(Kind::Map) || v.is(Kind::Set) ? "}" : v.is(Kind::Vector) ? "]" : ")");
}

}  // namespace

void write(const Value& v, std::string& out) { write_value(v, out); }

std::string write(const Value& v) {
  std::string out;
  write_value(v, out);
  return out;
}

std::string pretty(const Value& v, std::size_t width) {
  std::string out;
  pretty_value(v, 0, width, out);
  return out;
}

}  // namespace stube::edn
