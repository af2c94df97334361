#pragma once

// The checkpoints of one training run, kept in <run>/checkpoints:
// - step_<N>.h5 every train.checkpoint_every steps, pruned to the newest train.keep_last;
// - last.h5, a hard link to the newest step file, swapped in atomically;
// - best.h5 and best.json ({"step", "val_loss"}): the checkpoint with the lowest validation
//   loss so far.
// Every file is written by save_checkpoint (atomic, CRC-checked), so a crash leaves the
// previous checkpoint intact. Only rank 0 of a run touches the directory.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.hpp"

namespace wsd {

class CheckpointDirectory {
 public:
  CheckpointDirectory(std::filesystem::path dir, int64_t keep_last);

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path last_path() const { return dir_ / "last.h5"; }
  std::filesystem::path best_path() const { return dir_ / "best.h5"; }
  std::filesystem::path step_path(int64_t step) const {
    return dir_ / ("step_" + std::to_string(step) + ".h5");
  }

  // Creates the directory and removes the temporaries of writers that were killed (call it
  // under the run-directory lock, when no writer of this run is alive). Returns their paths.
  std::vector<std::string> prepare() const;

  // Writes step_<step>.h5, points last.h5 at it and prunes old step files. Returns last.h5's
  // path.
  std::string save(const Checkpoint& checkpoint, int64_t step) const;

  // Writes best.h5 and best.json.
  void save_best(const Checkpoint& checkpoint, int64_t step, double val_loss) const;

  // The validation loss of best.json; nullopt without one.
  std::optional<double> best_val_loss() const;

  // The step files, newest first.
  std::vector<std::pair<int64_t, std::filesystem::path>> step_files() const;

  // The checkpoint with the highest step that loads cleanly (`--resume auto`): step files and
  // last.h5 alike. Empty when there is none. Throws InputError when last.h5 exists but neither it
  // nor any step file can be read: starting over would overwrite what could not be read.
  std::string newest_valid() const;

 private:
  std::filesystem::path dir_;
  int64_t keep_last_;
};

}  // namespace wsd
