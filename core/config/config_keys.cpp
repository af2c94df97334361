#include "core/config/config_keys.hpp"

#include <string_view>

#include "core/config/config_codec.hpp"
#include "core/config/config_schema.hpp"

namespace wsd {
namespace {

template <class T>
class KeyLister {
 public:
  // `defaults` is the parent's default member, not T{}: task.noise defaults to white noise while
  // NoiseConfig{} is GRF.
  KeyLister(const T& defaults, const std::string& prefix, std::vector<ConfigKeyInfo>& out)
      : defaults_(defaults), prefix_(prefix), out_(out) {}

  template <class M, class R = rules::Any>
  void field(std::string_view key, M T::*member, std::string_view doc, const R& rule = R{}) {
    out_.push_back({join_key(prefix_, key), TypeName<M>::get(), format_value(defaults_.*member),
                    rule.describe(), std::string(doc)});
  }

  template <class S>
  void section(std::string_view key, S T::*member, std::string_view /*doc*/) {
    const std::string prefix = join_key(prefix_, key);
    KeyLister<S> nested(defaults_.*member, prefix, out_);
    Schema<S>::fields(nested);
  }

 private:
  const T& defaults_;
  const std::string& prefix_;
  std::vector<ConfigKeyInfo>& out_;
};

}  // namespace

std::vector<ConfigKeyInfo> list_config_keys() {
  const Config defaults;
  const std::string root;
  std::vector<ConfigKeyInfo> keys;
  KeyLister<Config> lister(defaults, root, keys);
  Schema<Config>::fields(lister);
  return keys;
}

}  // namespace wsd
