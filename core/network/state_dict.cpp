#include "core/network/state_dict.hpp"

#include <torch/torch.h>

#include <unordered_map>
#include <unordered_set>

#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"

namespace wsd {
namespace {

std::string plural(size_t count, const char* what) {
  return std::to_string(count) + " " + what + (count == 1 ? "" : "s");
}

}  // namespace

StateDict state_dict_of(const torch::nn::Module& module) {
  StateDict state;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value().detach());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value().detach());
  }
  return state;
}

void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source) {
  const StateDict targets = state_dict_of(module);

  std::unordered_map<std::string, const torch::Tensor*> given;
  given.reserve(state.size());
  for (const auto& [key, tensor] : state) {
    if (!given.emplace(key, &tensor).second) {
      throw InputError(source + ": duplicate key '" + key + "'");
    }
  }

  // Validate everything before copying anything, so a failed load leaves the module intact.
  std::unordered_set<std::string> expected;
  expected.reserve(targets.size());
  std::string first_missing;
  size_t missing = 0;
  for (const auto& [key, target] : targets) {
    expected.insert(key);
    if (given.count(key) == 0 && missing++ == 0) first_missing = key;
  }
  if (missing > 0) {
    throw InputError(source + ": missing key '" + first_missing + "'" +
                     (missing > 1 ? " (" + plural(missing, "key") + " missing)" : ""));
  }
  for (const auto& [key, tensor] : state) {
    if (expected.count(key) == 0) {
      throw InputError(source + ": unexpected key '" + key + "'");
    }
  }
  for (const auto& [key, target] : targets) {
    const torch::Tensor& value = *given.at(key);
    if (!value.defined()) throw InputError(source + ": '" + key + "' holds no tensor");
    if (value.sizes() != target.sizes()) {
      throw InputError(source + ": '" + key + "' has shape " + shape_text(value.sizes()) +
                       ", model expects " + shape_text(target.sizes()));
    }
  }

  torch::NoGradGuard no_grad;
  for (const auto& [key, target] : targets) {
    // target shares storage with the module's tensor; copy_ converts dtype and device.
    target.copy_(*given.at(key));
  }
}

std::string strip_wrapper_prefixes(const std::string& key) {
  static const char* const kPrefixes[] = {"_orig_mod.", "module."};
  std::string stripped = key;
  for (bool changed = true; changed;) {
    changed = false;
    for (const char* prefix : kPrefixes) {
      const std::string p(prefix);
      if (stripped.compare(0, p.size(), p) == 0) {
        stripped.erase(0, p.size());
        changed = true;
      }
    }
  }
  return stripped;
}

StateDict strip_wrapper_prefixes(StateDict state) {
  for (auto& entry : state) entry.first = strip_wrapper_prefixes(entry.first);
  return state;
}

void check_finite(const StateDict& state, const std::string& source) {
  for (const auto& [name, tensor] : state) {
    if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>()) {
      throw InputError("'" + source + "': weight '" + name +
                       "' holds NaN or Inf values; the checkpoint cannot be used");
    }
  }
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) count += p.numel();
  return count;
}

}  // namespace wsd
