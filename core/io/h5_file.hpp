#pragma once

#include <hdf5.h>
#include <torch/types.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace wsd::h5 {

// Debian's libhdf5 is built without its thread-safety option, so no two threads may be inside
// the library at once, even on different files or handles. Every HDF5 call in the project (File
// below, the data loader's HDF5 reader) holds this lock; it is recursive because File's methods
// call each other and close handles while holding it.
std::recursive_mutex& library_mutex();

// A failed HDF5 operation; the message names the file and the object.
class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one HDF5 identifier and closes it with the matching H5*close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  ~Handle();
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  void reset();
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// One dataset held open for repeated reads of entries along its first dimension. A data loader
// reads one sample at a time, and reopening the dataset for each costs more than the read
// itself. Made by File::row_reader; the file stays open as long as the reader (HDF5 keeps a
// file open while any of its objects is).
class RowReader {
 public:
  RowReader() = default;
  // Entries [first, first + count) (a hyperslab read), as `dtype` (HDF5 converts the stored
  // type).
  torch::Tensor read(int64_t first, int64_t count, torch::Dtype dtype) const;

 private:
  friend class File;
  RowReader(Handle set, std::string where, std::vector<hsize_t> dims)
      : set_(std::move(set)), where_(std::move(where)), dims_(std::move(dims)) {}

  Handle set_;
  std::string where_;  // "HDF5 file 'path': dataset 'name'"
  std::vector<hsize_t> dims_;
};

// An HDF5 file addressed by slash paths ("/model/conv.weight"). Tensors are stored as plain
// datasets of their dtype and shape so that h5py reads them without project code.
class File {
 public:
  static File create(const std::string& path);  // truncates an existing file
  static File open_read(const std::string& path);
  // A file that lives in memory only; `name` identifies it in messages. Its bytes come out of
  // image(), so that the caller writes them to disk itself and sees the operating system's
  // errors: a write that fails on a disk file (a full disk) leaves HDF5 holding a half-written
  // file that it cannot close, and it crashes on it at exit.
  static File create_in_memory(const std::string& name);

  const std::string& path() const { return path_; }
  bool exists(const std::string& object) const;
  bool is_group(const std::string& object) const;
  std::vector<std::string> list(const std::string& group) const;  // member names, sorted

  // With `checksum`, the CRC-32 of the stored bytes goes into the dataset's attribute "crc32";
  // a read with `verify` recomputes it and fails on a missing or different one (a bit flip in
  // the data is otherwise read back silently).
  void write_tensor(const std::string& dataset, const torch::Tensor& tensor, bool checksum = false);
  torch::Tensor read_tensor(const std::string& dataset, bool verify = false) const;
  void write_bytes(const std::string& dataset, const std::vector<uint8_t>& bytes,
                   bool checksum = false);

  // What a dataset holds without reading it: its shape and the dtype read_tensor returns.
  struct DatasetInfo {
    std::vector<int64_t> shape;
    torch::Dtype dtype;
  };
  DatasetInfo dataset_info(const std::string& dataset) const;
  // Entries [first, first + count) along the first dimension, as `dtype`: one read through
  // row_reader(dataset), which keeps the dataset open for many.
  torch::Tensor read_rows(const std::string& dataset, int64_t first, int64_t count,
                          torch::Dtype dtype) const;
  RowReader row_reader(const std::string& dataset) const;
  std::vector<uint8_t> read_bytes(const std::string& dataset, bool verify = false) const;

  // Attributes on an object ("/" for the file). Intermediate groups are created on write.
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, double value);
  bool has_attr(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  int64_t attr_int(const std::string& object, const std::string& name) const;
  double attr_double(const std::string& object, const std::string& name) const;
  // Integer and boolean (h5py enum) arrays, converted to int64.
  std::vector<int64_t> attr_ints(const std::string& object, const std::string& name) const;

  void flush();
  // The bytes of the complete file as it stands (flushed first).
  std::vector<uint8_t> image();

 private:
  File(Handle handle, std::string path) : handle_(std::move(handle)), path_(std::move(path)) {}
  Handle open_object(const std::string& object) const;
  Handle open_dataset(const std::string& dataset) const;
  Handle ensure_group(const std::string& group);
  Handle object_for_attr(const std::string& object);
  Handle open_attr(const std::string& object, const std::string& name) const;
  [[noreturn]] void fail(const std::string& what) const;

  Handle handle_;
  std::string path_;
};

}  // namespace wsd::h5
