#include "core/network/h5_weights.hpp"

#include <torch/torch.h>

#include "core/io/h5_file.hpp"
#include "core/network/state_dict.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

constexpr const char* kStateGroup = "/state_dict";

void require_attr(const h5::File& file, const std::string& name) {
  if (!file.has_attr("/", name)) {
    throw InputError(file.path() + ": missing root attribute '" + name +
                     "' (not a ddpm_unet weights file?)");
  }
}

DdpmUNetOptions read_options(const h5::File& file) {
  for (const char* name : {"image_channels", "n_channels", "ch_mults", "is_attn", "n_blocks"}) {
    require_attr(file, name);
  }
  std::vector<bool> is_attn;
  for (const int64_t flag : file.attr_ints("/", "is_attn")) is_attn.push_back(flag != 0);
  DdpmUNetOptions options;
  options.image_channels(file.attr_int("/", "image_channels"))
      .n_channels(file.attr_int("/", "n_channels"))
      .ch_mults(file.attr_ints("/", "ch_mults"))
      .is_attn(std::move(is_attn))
      .n_blocks(file.attr_int("/", "n_blocks"))
      // Dropout only matters for further training; files without it are still usable.
      .dropout(file.has_attr("/", "dropout") ? file.attr_double("/", "dropout") : 0.0);
  try {
    options.validate();
  } catch (const InputError& e) {
    throw InputError(file.path() + ": " + e.what());
  }
  return options;
}

StateDict read_state(const h5::File& file) {
  if (!file.is_group(kStateGroup)) {
    throw InputError(file.path() + ": missing group '" + std::string(kStateGroup) + "'");
  }
  StateDict state;
  for (const std::string& key : file.list(kStateGroup)) {
    const std::string dataset = std::string(kStateGroup) + "/" + key;
    if (file.is_group(dataset)) {
      throw InputError(file.path() + ": '" + dataset +
                       "' is a group; expected one dataset per state-dict key");
    }
    state.emplace_back(key, file.read_tensor(dataset));
  }
  if (state.empty()) {
    throw InputError(file.path() + ": group '" + std::string(kStateGroup) + "' is empty");
  }
  return strip_wrapper_prefixes(std::move(state));
}

}  // namespace

H5Weights read_h5_weights(const std::string& path) {
  try {
    const h5::File file = h5::File::open_read(path);
    H5Weights weights;
    weights.options = read_options(file);
    weights.state_dict = read_state(file);
    return weights;
  } catch (const h5::H5Error& e) {
    throw InputError(std::string("cannot read ddpm_unet weights: ") + e.what());
  }
}

}  // namespace wsd
