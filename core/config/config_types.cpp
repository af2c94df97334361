#include "core/config/config_types.hpp"

#include <string_view>

#include "core/config/config_schema.hpp"

namespace wsd {
namespace {

// Compares the members the schema lists; a struct member missing from the schema would be a bug
// caught by the round-trip tests, since it could not be loaded or written either.
template <class T>
class EqualVisitor {
 public:
  EqualVisitor(const T& a, const T& b) : a_(a), b_(b) {}

  template <class M, class R = rules::Any>
  void field(std::string_view /*key*/, M T::*member, std::string_view /*doc*/, const R& = R{}) {
    equal_ = equal_ && a_.*member == b_.*member;
  }
  template <class S>
  void section(std::string_view /*key*/, S T::*member, std::string_view /*doc*/) {
    equal_ = equal_ && a_.*member == b_.*member;
  }
  bool equal() const { return equal_; }

 private:
  const T& a_;
  const T& b_;
  bool equal_ = true;
};

template <class T>
bool equal_by_schema(const T& a, const T& b) {
  EqualVisitor<T> visitor(a, b);
  Schema<T>::fields(visitor);
  return visitor.equal();
}

}  // namespace

bool operator==(const DataConfig& a, const DataConfig& b) { return equal_by_schema(a, b); }
bool operator==(const NoiseConfig& a, const NoiseConfig& b) { return equal_by_schema(a, b); }
bool operator==(const ModelConfig& a, const ModelConfig& b) { return equal_by_schema(a, b); }
bool operator==(const TrainConfig& a, const TrainConfig& b) { return equal_by_schema(a, b); }
bool operator==(const SamplerConfig& a, const SamplerConfig& b) { return equal_by_schema(a, b); }
bool operator==(const TaskConfig& a, const TaskConfig& b) { return equal_by_schema(a, b); }
bool operator==(const EvalConfig& a, const EvalConfig& b) { return equal_by_schema(a, b); }
bool operator==(const RunConfig& a, const RunConfig& b) { return equal_by_schema(a, b); }
bool operator==(const Config& a, const Config& b) { return equal_by_schema(a, b); }

}  // namespace wsd
