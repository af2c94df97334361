#pragma once

// Validation vocabulary for the schema tables: small rule objects that check one value and
// describe themselves for key listings, plus the interface cross-field checks report through.
// Rules run on the final, resolved values (after file and --set overrides), never on YAML nodes.

#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config/config_format.hpp"

namespace wsd::rules {

struct Failure {
  std::string subkey;  // Appended to the field key, e.g. "[2]" for a list entry; usually empty.
  std::string message;
};
using Result = std::optional<Failure>;

// For fields whose C++ type already says everything (bools, enums, strings, seeds).
struct Any {
  template <class T>
  Result operator()(const T& /*value*/) const {
    return std::nullopt;
  }
  std::string describe() const { return ""; }
};

struct Bound {
  double value;
  bool inclusive;
};
inline Bound inclusive(double value) { return {value, true}; }
inline Bound exclusive(double value) { return {value, false}; }

// A numeric interval; a missing side is unbounded. Non-finite values always fail, so NaN cannot
// slip through a comparison that happens to be false.
struct Range {
  std::optional<Bound> lo;
  std::optional<Bound> hi;

  template <class T>
  Result operator()(const T& value) const {
    const double x = static_cast<double>(value);
    const bool lo_ok = !lo || (lo->inclusive ? x >= lo->value : x > lo->value);
    const bool hi_ok = !hi || (hi->inclusive ? x <= hi->value : x < hi->value);
    if (std::isfinite(x) && lo_ok && hi_ok) return std::nullopt;
    if (lo && hi) return Failure{"", format_value(value) + " is out of range " + describe()};
    if (!lo && !hi) return Failure{"", format_value(value) + " is not a finite number"};
    return Failure{"", format_value(value) + " is out of range (must be " + describe() + ")"};
  }

  std::string describe() const {
    if (lo && hi) {
      return std::string(lo->inclusive ? "[" : "(") + format_value(lo->value) + ", " +
             format_value(hi->value) + (hi->inclusive ? "]" : ")");
    }
    if (lo) return (lo->inclusive ? ">= " : "> ") + format_value(lo->value);
    if (hi) return (hi->inclusive ? "<= " : "< ") + format_value(hi->value);
    return "finite";
  }
};

inline Range at_least(double lo) { return {inclusive(lo), std::nullopt}; }
inline Range above(double lo) { return {exclusive(lo), std::nullopt}; }
inline Range between(Bound lo, Bound hi) { return {lo, hi}; }
inline Range finite() { return {}; }

// A small set of admissible integers, e.g. channel counts.
struct OneOf {
  std::vector<long long> allowed;

  template <class T>
  Result operator()(const T& value) const {
    for (long long a : allowed) {
      if (static_cast<long long>(value) == a) return std::nullopt;
    }
    return Failure{"", format_value(value) + " is not allowed (allowed: " + list() + ")"};
  }
  std::string describe() const { return "one of " + list(); }
  std::string list() const {
    std::string text;
    for (long long a : allowed) text += (text.empty() ? "" : ", ") + format_value(a);
    return text;
  }
};
inline OneOf one_of(std::initializer_list<long long> allowed) { return {allowed}; }

// Positive multiple of `factor`; `reason` says which component needs it.
struct MultipleOf {
  long long factor;
  std::string reason;

  template <class T>
  Result operator()(const T& value) const {
    if (value > 0 && static_cast<long long>(value) % factor == 0) return std::nullopt;
    return Failure{"", format_value(value) + " is not a positive multiple of " +
                           format_value(factor) + " (" + reason + ")"};
  }
  std::string describe() const { return "positive multiple of " + format_value(factor); }
};
inline MultipleOf multiple_of(long long factor, std::string reason) {
  return {factor, std::move(reason)};
}

// Odd and at least `min`: kernels need a centre pixel.
struct OddAtLeast {
  long long min;

  template <class T>
  Result operator()(const T& value) const {
    if (value >= min && value % 2 == 1) return std::nullopt;
    return Failure{"", format_value(value) + " is not an odd number >= " + format_value(min) +
                           " (the kernel needs a centre pixel)"};
  }
  std::string describe() const { return "odd, >= " + format_value(min); }
};
inline OddAtLeast odd_at_least(long long min) { return {min}; }

// Whole-list constraints plus a rule applied to every entry; failures name the entry ("[2]").
template <class Each>
struct List {
  Each each;
  bool non_empty;
  bool unique;

  template <class T>
  Result operator()(const std::vector<T>& values) const {
    if (non_empty && values.empty()) return Failure{"", "must not be empty"};
    for (std::size_t i = 0; i < values.size(); ++i) {
      const T value = values[i];
      if (auto failure = each(value)) {
        return Failure{"[" + std::to_string(i) + "]" + failure->subkey, failure->message};
      }
      for (std::size_t j = 0; unique && j < i; ++j) {
        if (static_cast<T>(values[j]) == value) {
          return Failure{
              "[" + std::to_string(i) + "]",
              format_value(value) + " is listed twice (also entry " + std::to_string(j) + ")"};
        }
      }
    }
    return std::nullopt;
  }

  std::string describe() const {
    std::string text = non_empty ? "non-empty list" : "list";
    if (unique) text += " without repeats";
    const std::string inner = each.describe();
    return inner.empty() ? text : text + ", each " + inner;
  }
};
template <class Each = Any>
List<Each> non_empty_list(Each each = {}, bool unique = false) {
  return {std::move(each), true, unique};
}

// For optional values where nullopt means `auto`: the inner rule applies only to set values.
template <class Inner>
struct IfSet {
  Inner inner;

  template <class T>
  Result operator()(const std::optional<T>& value) const {
    if (!value) return std::nullopt;
    return inner(*value);
  }
  std::string describe() const { return "auto or " + inner.describe(); }
};
template <class Inner>
IfSet<Inner> if_set(Inner inner) {
  return {std::move(inner)};
}

// How a cross-field check in the schema reports a violation. The first key is the one named in
// the message; the rest are fallbacks for the reported position when the first was never set
// explicitly (e.g. ch_mults given in the file, is_attn left at its default).
class CrossCheck {
 public:
  virtual ~CrossCheck() = default;
  // Full dotted name of a key of the struct being checked, for use inside messages.
  virtual std::string key(std::string_view relative) const = 0;
  [[noreturn]] virtual void fail(std::initializer_list<std::string_view> keys,
                                 const std::string& message) const = 0;
};

}  // namespace wsd::rules
