#pragma once

// The state dict of a file written by torch.save (.pth/.pt/.ckpt), read without Python.
//
// torch.save writes a zip archive: data.pkl (a pickle, protocol 2) whose tensors refer to
// storages stored as raw little-endian records data/<key>. A pickle is a program: its GLOBAL
// opcode names any importable callable and REDUCE calls it, which is how a crafted file runs
// code in torch.load. The unpickler here runs no code at all; it builds dicts, lists, tuples,
// numbers, strings and tensors, and accepts only the globals a plain state dict needs:
//
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
//   torch.<Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool>Storage
//
// Any other global refuses the whole file, naming it; nothing a pickle names is ever called.

#include <string>

#include "core/checkpoint/checkpoint.hpp"

namespace wsd {

// The tensors of `path` as float32, keys as stored (wrapper prefixes are kept). The file may be
// a dict holding "model_state_dict" or "state_dict" (the authors' training checkpoints), or a
// flat dict of tensors. Throws InputError, one line naming the file, for a file that is not a
// torch.save zip archive (the legacy non-zip format included), a pickle that names any other
// global ("refused: reading it needs unsafe unpickling ..."), or one without such a dict.
StateDict read_pytorch_state_dict(const std::string& path);

}  // namespace wsd
