#pragma once

#include <string>

#include "core/checkpoint/checkpoint.hpp"
#include "core/network/ddpm_unet.hpp"

namespace wsd {

// A ddpm_unet in the plain HDF5 layout of the reference fixture (and of weights exported from
// the authors' PyTorch code with h5py): root attributes image_channels, n_channels, ch_mults,
// is_attn, n_blocks (dropout optional, default 0) give the constructor arguments;
// /state_dict/<key> holds every tensor under the authors' state-dict keys.
struct H5Weights {
  DdpmUNetOptions options;
  StateDict state_dict;  // keys with wrapper prefixes (_orig_mod., module.) removed, sorted
};

// Throws InputError naming the file and the missing or malformed attribute, group or dataset.
H5Weights read_h5_weights(const std::string& path);

}  // namespace wsd
