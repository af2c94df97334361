#include "core/io/h5_file.hpp"

#include "core/util/crc32.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace wsd::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; the project reports errors itself.
void silence_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

struct TypeMap {
  torch::Dtype dtype;
  hid_t native;
};

TypeMap native_type_for(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return {dtype, H5T_NATIVE_FLOAT};
    case torch::kFloat64:
      return {dtype, H5T_NATIVE_DOUBLE};
    case torch::kInt64:
      return {dtype, H5T_NATIVE_INT64};
    case torch::kInt32:
      return {dtype, H5T_NATIVE_INT32};
    case torch::kUInt8:
      return {dtype, H5T_NATIVE_UINT8};
    case torch::kInt8:
      return {dtype, H5T_NATIVE_INT8};
    case torch::kBool:
      return {torch::kUInt8, H5T_NATIVE_UINT8};
    // bf16/fp16 weights are widened: the file stays readable by any HDF5 tool.
    case torch::kBFloat16:
    case torch::kFloat16:
      return {torch::kFloat32, H5T_NATIVE_FLOAT};
    default:
      throw H5Error(std::string("cannot store tensors of dtype ") + c10::toString(dtype));
  }
}

// Maps a stored type onto the torch dtype it is read as.
TypeMap torch_type_for(hid_t stored) {
  const H5T_class_t cls = H5Tget_class(stored);
  const size_t size = H5Tget_size(stored);
  if (cls == H5T_FLOAT) {
    return size <= 4 ? TypeMap{torch::kFloat32, H5T_NATIVE_FLOAT}
                     : TypeMap{torch::kFloat64, H5T_NATIVE_DOUBLE};
  }
  if (cls == H5T_INTEGER || cls == H5T_ENUM) {
    const bool is_signed = cls == H5T_ENUM || H5Tget_sign(stored) != H5T_SGN_NONE;
    if (size == 1 && !is_signed) return {torch::kUInt8, H5T_NATIVE_UINT8};
    if (size == 1) return {torch::kInt8, H5T_NATIVE_INT8};
    if (size <= 4 && is_signed) return {torch::kInt32, H5T_NATIVE_INT32};
    return {torch::kInt64, H5T_NATIVE_INT64};
  }
  throw H5Error("unsupported HDF5 datatype class");
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > start) parts.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

Handle::Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

Handle::~Handle() { reset(); }

void Handle::reset() {
  if (id_ >= 0 && closer_ != nullptr) {
    const std::lock_guard<std::recursive_mutex> lock(library_mutex());
    closer_(id_);
  }
  id_ = -1;
}

File File::create(const std::string& path) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  silence_hdf5();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw H5Error("cannot create HDF5 file '" + path + "'");
  return File(Handle(id, H5Fclose), path);
}

File File::create_in_memory(const std::string& name) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  silence_hdf5();
  // A unique name: HDF5 refuses to create a file under the name of one that is open.
  static int64_t counter = 0;
  const std::string unique = name + "#memory-" + std::to_string(++counter);
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!access.valid() || H5Pset_fapl_core(access.get(), size_t{1} << 20, /*backing_store=*/0) < 0) {
    throw H5Error("cannot set up an in-memory HDF5 file for '" + name + "'");
  }
  const hid_t id = H5Fcreate(unique.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
  if (id < 0) throw H5Error("cannot create an in-memory HDF5 file for '" + name + "'");
  return File(Handle(id, H5Fclose), name);
}

File File::open_read(const std::string& path) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  silence_hdf5();
#if H5_VERSION_GE(1, 12, 0)
  const htri_t readable = H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
  const htri_t readable = H5Fis_hdf5(path.c_str());
#endif
  if (readable <= 0) {
    throw H5Error("'" + path + "' is not a readable HDF5 file (missing, truncated or corrupt)");
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw H5Error("cannot open HDF5 file '" + path + "' (truncated or corrupt?)");
  return File(Handle(id, H5Fclose), path);
}

void File::fail(const std::string& what) const {
  throw H5Error("HDF5 file '" + path_ + "': " + what);
}

bool File::exists(const std::string& object) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (object == "/" || object.empty()) return true;
  std::string prefix;
  for (const auto& part : split_path(object)) {
    prefix += "/" + part;
    if (H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return H5Oexists_by_name(handle_.get(), prefix.c_str(), H5P_DEFAULT) > 0;
}

bool File::is_group(const std::string& object) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!exists(object)) return false;
  const Handle obj(H5Oopen(handle_.get(), object.c_str(), H5P_DEFAULT), H5Oclose);
  return obj.valid() && H5Iget_type(obj.get()) == H5I_GROUP;
}

std::vector<std::string> File::list(const std::string& group) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!is_group(group)) fail("no group '" + group + "'");
  Handle g(H5Gopen2(handle_.get(), group.c_str(), H5P_DEFAULT), H5Gclose);
  H5G_info_t info;
  if (H5Gget_info(g.get(), &info) < 0) fail("cannot list group '" + group + "'");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) fail("cannot list group '" + group + "'");
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Handle File::open_object(const std::string& object) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!exists(object)) fail("no object '" + object + "'");
  const hid_t id = H5Oopen(handle_.get(), object.c_str(), H5P_DEFAULT);
  if (id < 0) fail("cannot open '" + object + "'");
  return Handle(id, H5Oclose);
}

Handle File::object_for_attr(const std::string& object) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!exists(object)) ensure_group(object);
  return open_object(object);
}

Handle File::ensure_group(const std::string& group) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  std::string prefix;
  for (const auto& part : split_path(group)) {
    prefix += "/" + part;
    if (H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT) > 0) continue;
    Handle created(H5Gcreate2(handle_.get(), prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Gclose);
    if (!created.valid()) fail("cannot create group '" + prefix + "'");
  }
  return Handle(H5Gopen2(handle_.get(), prefix.empty() ? "/" : prefix.c_str(), H5P_DEFAULT),
                H5Gclose);
}

void File::write_tensor(const std::string& dataset, const torch::Tensor& tensor, bool checksum) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  const TypeMap type = native_type_for(tensor.scalar_type());
  const torch::Tensor data = tensor.detach().to(torch::kCPU, type.dtype).contiguous();
  std::vector<hsize_t> dims(data.sizes().begin(), data.sizes().end());
  ensure_group(parent_of(dataset));
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle set(H5Dcreate2(handle_.get(), dataset.c_str(), type.native, space.get(), H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
  if (!set.valid()) fail("cannot create dataset '" + dataset + "'");
  if (data.numel() > 0 &&
      H5Dwrite(set.get(), type.native, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data_ptr()) < 0) {
    fail("cannot write dataset '" + dataset + "'");
  }
  if (checksum) {
    set_attr(dataset, "crc32", static_cast<int64_t>(crc32(data.data_ptr(), data.nbytes())));
  }
}

Handle File::open_dataset(const std::string& dataset) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!exists(dataset)) fail("no dataset '" + dataset + "'");
  Handle set(H5Dopen2(handle_.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.valid()) fail("'" + dataset + "' is not a dataset");
  return set;
}

namespace {

std::vector<hsize_t> dims_of(hid_t set) {
  const Handle space(H5Dget_space(set), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

}  // namespace

File::DatasetInfo File::dataset_info(const std::string& dataset) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  const Handle set = open_dataset(dataset);
  const Handle stored(H5Dget_type(set.get()), H5Tclose);
  DatasetInfo info{{}, torch::kFloat32};
  try {
    info.dtype = torch_type_for(stored.get()).dtype;
  } catch (const H5Error&) {
    fail("dataset '" + dataset + "' has an unsupported datatype");
  }
  for (const hsize_t d : dims_of(set.get())) info.shape.push_back(static_cast<int64_t>(d));
  return info;
}

torch::Tensor File::read_tensor(const std::string& dataset, bool verify) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  const DatasetInfo info = dataset_info(dataset);
  const Handle set = open_dataset(dataset);
  torch::Tensor out = torch::empty(info.shape, torch::TensorOptions().dtype(info.dtype));
  if (out.numel() > 0 && H5Dread(set.get(), native_type_for(info.dtype).native, H5S_ALL, H5S_ALL,
                                 H5P_DEFAULT, out.data_ptr()) < 0) {
    fail("cannot read dataset '" + dataset + "' (truncated file?)");
  }
  if (verify) {
    if (!has_attr(dataset, "crc32")) fail("dataset '" + dataset + "' has no checksum");
    if (attr_int(dataset, "crc32") != static_cast<int64_t>(crc32(out.data_ptr(), out.nbytes()))) {
      fail("dataset '" + dataset + "' does not match its checksum (the file is corrupt)");
    }
  }
  return out;
}

RowReader File::row_reader(const std::string& dataset) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  Handle set = open_dataset(dataset);
  std::vector<hsize_t> dims = dims_of(set.get());
  if (dims.empty()) fail("dataset '" + dataset + "' is a scalar, not a list of entries");
  return RowReader(std::move(set), "HDF5 file '" + path_ + "': dataset '" + dataset + "'",
                   std::move(dims));
}

torch::Tensor File::read_rows(const std::string& dataset, int64_t first, int64_t count,
                              torch::Dtype dtype) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  return row_reader(dataset).read(first, count, dtype);
}

torch::Tensor RowReader::read(int64_t first, int64_t count, torch::Dtype dtype) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  const std::string range = std::to_string(first) + " to " + std::to_string(first + count);
  if (!set_.valid()) throw H5Error(where_ + ": no dataset open");
  if (first < 0 || count < 0 || static_cast<hsize_t>(first + count) > dims_[0]) {
    throw H5Error(where_ + ": entries " + range + " are out of range");
  }
  std::vector<hsize_t> start(dims_.size(), 0);
  std::vector<hsize_t> extent = dims_;
  start[0] = static_cast<hsize_t>(first);
  extent[0] = static_cast<hsize_t>(count);
  const Handle file_space(H5Dget_space(set_.get()), H5Sclose);
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(),
                      nullptr);
  const Handle memory_space(
      H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose);
  torch::Tensor out = torch::empty(std::vector<int64_t>(extent.begin(), extent.end()),
                                   torch::TensorOptions().dtype(dtype));
  if (out.numel() > 0 && H5Dread(set_.get(), native_type_for(dtype).native, memory_space.get(),
                                 file_space.get(), H5P_DEFAULT, out.data_ptr()) < 0) {
    throw H5Error(where_ + ": cannot read entries " + range + " (file damaged?)");
  }
  return out;
}

void File::write_bytes(const std::string& dataset, const std::vector<uint8_t>& bytes,
                       bool checksum) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  write_tensor(dataset,
               torch::from_blob(const_cast<uint8_t*>(bytes.data()),
                                {static_cast<int64_t>(bytes.size())}, torch::kUInt8),
               checksum);
}

std::vector<uint8_t> File::read_bytes(const std::string& dataset, bool verify) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  const torch::Tensor t = read_tensor(dataset, verify).to(torch::kUInt8).contiguous();
  const uint8_t* p = t.data_ptr<uint8_t>();
  return std::vector<uint8_t>(p, p + t.numel());
}

void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  Handle obj = object_for_attr(object);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle attr(
      H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  const char* data = value.c_str();
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), &data) < 0) {
    fail("cannot write attribute '" + name + "' on '" + object + "'");
  }
}

namespace {
template <typename T>
void write_scalar_attr(hid_t obj, const std::string& name, hid_t type, T value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  Handle attr(H5Acreate2(obj, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type, &value) < 0) {
    throw H5Error("cannot write attribute '" + name + "'");
  }
}
}  // namespace

void File::set_attr(const std::string& object, const std::string& name, int64_t value) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  write_scalar_attr(object_for_attr(object).get(), name, H5T_NATIVE_INT64, value);
}

void File::set_attr(const std::string& object, const std::string& name, double value) {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  write_scalar_attr(object_for_attr(object).get(), name, H5T_NATIVE_DOUBLE, value);
}

bool File::has_attr(const std::string& object, const std::string& name) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!exists(object)) return false;
  return H5Aexists_by_name(handle_.get(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

Handle File::open_attr(const std::string& object, const std::string& name) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (!has_attr(object, name)) fail("no attribute '" + name + "' on '" + object + "'");
  return Handle(
      H5Aopen_by_name(handle_.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
}

std::string File::attr_string(const std::string& object, const std::string& name) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  Handle attr = open_attr(object, name);
  Handle stored(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(stored.get()) != H5T_STRING) {
    fail("attribute '" + name + "' on '" + object + "' is not a string");
  }
  if (H5Tis_variable_str(stored.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(stored.get()));
    char* data = nullptr;
    if (H5Aread(attr.get(), mem.get(), &data) < 0) fail("cannot read attribute '" + name + "'");
    std::string value = data != nullptr ? data : "";
    Handle space(H5Aget_space(attr.get()), H5Sclose);
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, &data);
    return value;
  }
  const size_t size = H5Tget_size(stored.get());
  std::string value(size, '\0');
  if (H5Aread(attr.get(), stored.get(), value.data()) < 0) {
    fail("cannot read attribute '" + name + "'");
  }
  value.resize(std::min(value.find('\0'), value.size()));
  return value;
}

std::vector<int64_t> File::attr_ints(const std::string& object, const std::string& name) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  Handle attr = open_attr(object, name);
  Handle stored(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(stored.get());
  if (cls != H5T_INTEGER && cls != H5T_ENUM) {
    fail("attribute '" + name + "' on '" + object + "' is not an integer");
  }
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<int64_t> values(static_cast<size_t>(std::max<hssize_t>(n, 0)));
  if (cls == H5T_ENUM) {
    // HDF5 does not convert enums to integers; read the base type and widen.
    Handle base(H5Tget_super(stored.get()), H5Tclose);
    const size_t width = H5Tget_size(base.get());
    std::vector<unsigned char> raw(values.size() * width);
    if (H5Aread(attr.get(), base.get(), raw.data()) < 0) fail("cannot read '" + name + "'");
    for (size_t i = 0; i < values.size(); ++i) {
      int64_t v = 0;
      if (width == 1)
        v = static_cast<int8_t>(raw[i]);
      else
        std::memcpy(&v, raw.data() + i * width, std::min<size_t>(width, 8));
      values[i] = v;
    }
    return values;
  }
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, values.data()) < 0) {
    fail("cannot read attribute '" + name + "'");
  }
  return values;
}

int64_t File::attr_int(const std::string& object, const std::string& name) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  const auto values = attr_ints(object, name);
  if (values.size() != 1) fail("attribute '" + name + "' on '" + object + "' is not a scalar");
  return values.front();
}

double File::attr_double(const std::string& object, const std::string& name) const {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  Handle attr = open_attr(object, name);
  double value = 0.0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0) {
    fail("attribute '" + name + "' on '" + object + "' is not a number");
  }
  return value;
}

void File::flush() {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  if (H5Fflush(handle_.get(), H5F_SCOPE_GLOBAL) < 0) fail("cannot flush");
}

std::vector<uint8_t> File::image() {
  const std::lock_guard<std::recursive_mutex> lock(library_mutex());
  flush();
  const ssize_t size = H5Fget_file_image(handle_.get(), nullptr, 0);
  if (size < 0) fail("cannot take the file's image");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (H5Fget_file_image(handle_.get(), bytes.data(), bytes.size()) != size) {
    fail("cannot take the file's image");
  }
  return bytes;
}

}  // namespace wsd::h5
