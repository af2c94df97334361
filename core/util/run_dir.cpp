#include "core/util/run_dir.hpp"

#include <unistd.h>

#include <fstream>
#include <system_error>

#include "core/util/errors.hpp"
#include "core/util/logging.hpp"

namespace wsd {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write '" + tmp.string() + "'");
  }
  fs::rename(tmp, path);
}

fs::path prepare_run_dir(const std::string& out_dir, const std::string& resolved_yaml, int rank) {
  const fs::path dir(out_dir);
  if (rank != 0) return dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError("cannot create run directory '" + out_dir + "': " + ec.message());
  }
  write_file_atomically(dir / "config.yaml", resolved_yaml);
  add_log_file((dir / "wsdiff.log").string());
  return dir;
}

}  // namespace wsd
