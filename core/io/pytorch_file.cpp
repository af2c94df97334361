#include "core/io/pytorch_file.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "torch storages are read byte for byte");

// A refusal or a malformed pickle; read_pytorch_state_dict adds the file's name.
struct PickleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kUnsafe =
    "refused: reading it needs unsafe unpickling (it stores objects other than tensors, which "
    "could run code: ";
constexpr const char* kResave = "); save a plain state dict, torch.save(model.state_dict(), path)";

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// What the restricted unpickler builds. Lists and dicts are shared through the memo, as in
// Python, so that a later SETITEMS on a memoised dict is seen everywhere it is referenced.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  Kind kind = Kind::kNone;
  int64_t integer = 0;  // also a bool
  double real = 0.0;
  std::string text;  // a string, or a global's "module.name"
  std::vector<ValuePtr> items;
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // a dict, in insertion order
  torch::Tensor tensor;                                // a tensor, or a storage's elements (1-D)

  static ValuePtr of(Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
};

using Kind = Value::Kind;

std::optional<torch::ScalarType> storage_type(const std::string& global) {
  static const std::map<std::string, torch::ScalarType> kStorages = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  const auto it = kStorages.find(global);
  if (it == kStorages.end()) return std::nullopt;
  return it->second;
}

bool allowed_global(const std::string& global) {
  return global == "collections.OrderedDict" || global == "torch._utils._rebuild_tensor_v2" ||
         global == "torch._utils._rebuild_parameter" || storage_type(global).has_value();
}

// Storage records of the archive, loaded once each: tensors that share a storage share it.
class StorageLoader {
 public:
  explicit StorageLoader(caffe2::serialize::PyTorchStreamReader& archive) : archive_(archive) {}

  // persistent id ('storage', storage class, key, location, numel).
  torch::Tensor load(const Value& pid) {
    if (pid.kind != Kind::kTuple || pid.items.size() < 5 || pid.items[0]->kind != Kind::kString ||
        pid.items[0]->text != "storage" || pid.items[1]->kind != Kind::kGlobal ||
        pid.items[2]->kind != Kind::kString) {
      throw PickleError("a persistent id that is not a tensor storage");
    }
    const auto type = storage_type(pid.items[1]->text);
    if (!type) throw PickleError("a storage of class " + pid.items[1]->text);
    const std::string& key = pid.items[2]->text;
    if (const auto it = storages_.find(key); it != storages_.end()) return it->second;
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) throw PickleError("no record " + record + " in the archive");
    const size_t element = c10::elementSize(*type);
    const size_t bytes = archive_.getRecordSize(record);
    if (bytes % element != 0) {
      throw PickleError("record " + record + " is not a whole number of its elements");
    }
    torch::Tensor storage =
        torch::empty({static_cast<int64_t>(bytes / element)}, torch::TensorOptions().dtype(*type));
    if (bytes > 0) archive_.getRecord(record, storage.data_ptr(), bytes);
    storages_.emplace(key, storage);
    return storage;
  }

 private:
  caffe2::serialize::PyTorchStreamReader& archive_;
  std::map<std::string, torch::Tensor> storages_;
};

std::vector<int64_t> int_tuple(const Value& v, const char* what) {
  if (v.kind != Kind::kTuple) throw PickleError(std::string("a tensor ") + what + " not a tuple");
  std::vector<int64_t> out;
  for (const auto& item : v.items) {
    if (item->kind != Kind::kInt || item->integer < 0) {
      throw PickleError(std::string("a tensor ") + what + " that is not sizes");
    }
    out.push_back(item->integer);
  }
  return out;
}

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta]):
// a strided view of the storage, checked to lie inside it, copied out as an owning tensor.
ValuePtr rebuild_tensor(const Value& args) {
  if (args.kind != Kind::kTuple || args.items.size() < 4 || args.items[0]->kind != Kind::kStorage ||
      args.items[1]->kind != Kind::kInt) {
    throw PickleError("malformed _rebuild_tensor_v2 arguments");
  }
  const torch::Tensor& storage = args.items[0]->tensor;
  const int64_t offset = args.items[1]->integer;
  const std::vector<int64_t> size = int_tuple(*args.items[2], "size");
  const std::vector<int64_t> stride = int_tuple(*args.items[3], "stride");
  if (size.size() != stride.size()) throw PickleError("a tensor's size and stride disagree");
  int64_t last = offset;
  bool empty = false;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] == 0) empty = true;
    if (size[d] > 0 && (size[d] - 1 > INT64_MAX / std::max<int64_t>(stride[d], 1) ||
                        __builtin_add_overflow(last, (size[d] - 1) * stride[d], &last))) {
      throw PickleError("a tensor's size overflows");
    }
  }
  if (offset < 0 || (!empty && last >= storage.numel())) {
    throw PickleError("a tensor that reaches past its storage");
  }
  // Repeated elements (stride 0) are legal, but not a view that would fill memory from a few
  // stored bytes.
  int64_t numel = 1;
  for (const int64_t n : size) {
    if (__builtin_mul_overflow(numel, n, &numel)) throw PickleError("a tensor's size overflows");
  }
  if (numel > storage.numel() && numel > (int64_t{1} << 28)) {
    throw PickleError("a tensor of " + std::to_string(numel) + " elements over a storage of " +
                      std::to_string(storage.numel()));
  }
  auto v = Value::of(Kind::kTensor);
  v->tensor = empty ? torch::empty(size, storage.options())
                    : storage.as_strided(size, stride, offset).clone();
  return v;
}

// A pickle of protocol 2 (what torch.save writes; the protocol 4 framing opcodes are accepted
// too) read into Values. No opcode calls anything beyond the allowed globals' fixed meanings.
class RestrictedUnpickler {
 public:
  RestrictedUnpickler(const uint8_t* data, size_t size, StorageLoader& storages)
      : data_(data), size_(size), storages_(storages) {}

  // Containers are unlinked before they are freed: a pickle may nest them a million deep or in
  // a cycle, which freeing through shared_ptr would follow recursively (or never free).
  ~RestrictedUnpickler() {
    for (const auto& v : containers_) {
      v->items.clear();
      v->entries.clear();
    }
  }
  RestrictedUnpickler(const RestrictedUnpickler&) = delete;
  RestrictedUnpickler& operator=(const RestrictedUnpickler&) = delete;

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80:  // PROTO
          byte();
          break;
        case 0x95:  // FRAME
          bytes(8);
          break;
        case '.':  // STOP
          return pop();
        case '(':  // MARK
          marks_.push_back(stack_.size());
          break;
        case '}':
          push(container(Kind::kDict));
          break;
        case ']':
          push(container(Kind::kList));
          break;
        case ')':
          push(container(Kind::kTuple));
          break;
        case 'N':
          push(Value::of(Kind::kNone));
          break;
        case 0x88:  // NEWTRUE
          push(boolean(true));
          break;
        case 0x89:  // NEWFALSE
          push(boolean(false));
          break;
        case 'K':  // BININT1
          push(integer(byte()));
          break;
        case 'M':  // BININT2
          push(integer(little(2)));
          break;
        case 'J':  // BININT
          push(integer(static_cast<int32_t>(little(4))));
          break;
        case 0x8a:  // LONG1
          push(integer(long1()));
          break;
        case 'G':  // BINFLOAT
          push(real());
          break;
        case 'X':  // BINUNICODE
          push(string(little(4)));
          break;
        case 0x8c:  // SHORT_BINUNICODE
          push(string(byte()));
          break;
        case 'U':  // SHORT_BINSTRING
          push(string(byte()));
          break;
        case 'T':  // BINSTRING
          push(string(little(4)));
          break;
        case 'q':  // BINPUT
          memo(byte());
          break;
        case 'r':  // LONG_BINPUT
          memo(little(4));
          break;
        case 0x94:  // MEMOIZE
          memo(memo_.size());
          break;
        case 'h':  // BINGET
          push(recall(byte()));
          break;
        case 'j':  // LONG_BINGET
          push(recall(little(4)));
          break;
        case 't':  // TUPLE
          push(tuple(pop_mark()));
          break;
        case 0x85:  // TUPLE1
          push(tuple(pop_n(1)));
          break;
        case 0x86:  // TUPLE2
          push(tuple(pop_n(2)));
          break;
        case 0x87:  // TUPLE3
          push(tuple(pop_n(3)));
          break;
        case 'l': {  // LIST
          auto list = container(Kind::kList);
          list->items = pop_mark();
          push(list);
          break;
        }
        case 'a': {  // APPEND
          ValuePtr item = pop();
          list_top().items.push_back(std::move(item));
          break;
        }
        case 'e': {  // APPENDS
          std::vector<ValuePtr> items = pop_mark();
          Value& list = list_top();
          list.items.insert(list.items.end(), items.begin(), items.end());
          break;
        }
        case 's': {  // SETITEM
          ValuePtr value = pop();
          ValuePtr key = pop();
          dict_top().entries.emplace_back(std::move(key), std::move(value));
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<ValuePtr> items = pop_mark();
          if (items.size() % 2 != 0) throw PickleError("SETITEMS with an odd number of items");
          Value& dict = dict_top();
          for (size_t k = 0; k < items.size(); k += 2)
            dict.entries.emplace_back(items[k], items[k + 1]);
          break;
        }
        case 'c': {  // GLOBAL
          std::string module = line();
          push(global(module + "." + line()));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          ValuePtr name = pop();
          ValuePtr module = pop();
          if (name->kind != Kind::kString || module->kind != Kind::kString) {
            throw PickleError("STACK_GLOBAL of non-strings");
          }
          push(global(module->text + "." + name->text));
          break;
        }
        case 'Q': {  // BINPERSID
          auto storage = Value::of(Kind::kStorage);
          storage->tensor = storages_.load(*pop());
          push(storage);
          break;
        }
        case 'R': {  // REDUCE
          ValuePtr args = pop();
          ValuePtr callable = pop();
          push(reduce(*callable, *args));
          break;
        }
        case 'b': {  // BUILD: only the OrderedDict's attributes (a state dict's _metadata)
          pop();
          if (stack_.empty() || stack_.back()->kind != Kind::kDict) {
            throw PickleError("BUILD of an object other than a dict");
          }
          break;
        }
        default:
          throw PickleError("pickle opcode 0x" + hex(op) +
                            " is not one a tensors-only torch.save file uses");
      }
    }
  }

 private:
  static ValuePtr boolean(bool b) {
    auto v = Value::of(Kind::kBool);
    v->integer = b;
    return v;
  }
  static ValuePtr integer(int64_t i) {
    auto v = Value::of(Kind::kInt);
    v->integer = i;
    return v;
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    auto v = container(Kind::kTuple);
    v->items = std::move(items);
    return v;
  }
  static std::string hex(uint8_t b) {
    const char* digits = "0123456789abcdef";
    return {digits[b >> 4], digits[b & 15]};
  }

  static ValuePtr global(const std::string& name) {
    if (!allowed_global(name))
      throw PickleError(std::string(kUnsafe) + "the pickle names " + name + kResave);
    auto v = Value::of(Kind::kGlobal);
    v->text = name;
    return v;
  }

  ValuePtr reduce(const Value& callable, const Value& args) {
    if (callable.kind != Kind::kGlobal || args.kind != Kind::kTuple) {
      throw PickleError("REDUCE of something other than an allowed global");
    }
    if (callable.text == "collections.OrderedDict") {
      if (!args.items.empty()) throw PickleError("OrderedDict built from arguments");
      return container(Kind::kDict);
    }
    if (callable.text == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args);
    if (callable.text == "torch._utils._rebuild_parameter") {
      if (args.items.empty() || args.items[0]->kind != Kind::kTensor) {
        throw PickleError("malformed _rebuild_parameter arguments");
      }
      return args.items[0];
    }
    throw PickleError("a call of " + callable.text);  // a storage class is never called
  }

  uint8_t byte() {
    if (pos_ >= size_) throw PickleError("the pickle ends early");
    return data_[pos_++];
  }
  const uint8_t* bytes(size_t n) {
    if (n > size_ - pos_) throw PickleError("the pickle ends early");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint32_t little(size_t n) {
    const uint8_t* p = bytes(n);
    uint32_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint32_t>(p[k]) << (8 * k);
    return v;
  }
  int64_t long1() {
    const size_t n = byte();
    if (n > 8) throw PickleError("an integer wider than 64 bits");
    const uint8_t* p = bytes(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  ValuePtr real() {
    const uint8_t* p = bytes(8);
    uint64_t bits = 0;
    for (size_t k = 0; k < 8; ++k) bits = (bits << 8) | p[k];  // big-endian
    auto v = Value::of(Kind::kFloat);
    std::memcpy(&v->real, &bits, 8);
    return v;
  }
  ValuePtr string(size_t n) {
    const uint8_t* p = bytes(n);
    auto v = Value::of(Kind::kString);
    v->text.assign(reinterpret_cast<const char*>(p), n);
    return v;
  }
  std::string line() {
    std::string out;
    for (uint8_t c = byte(); c != '\n'; c = byte()) {
      if (out.size() > 256) throw PickleError("a GLOBAL name without its end");
      out.push_back(static_cast<char>(c));
    }
    return out;
  }

  void push(ValuePtr v) {
    if (stack_.size() > kMaxStack) throw PickleError("the pickle's stack grows without bound");
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      throw PickleError("the pickle pops an empty stack");
    }
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_n(size_t n) {
    std::vector<ValuePtr> out(n);
    for (size_t k = n; k-- > 0;) out[k] = pop();
    return out;
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) throw PickleError("the pickle uses a MARK it never set");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return out;
  }
  Value& top(Kind kind, const char* what) {
    if (stack_.empty() || stack_.back()->kind != kind) {
      throw PickleError(std::string("the pickle adds items to something other than a ") + what);
    }
    return *stack_.back();
  }
  Value& list_top() { return top(Kind::kList, "list"); }
  Value& dict_top() { return top(Kind::kDict, "dict"); }
  void memo(size_t index) {
    if (stack_.empty()) throw PickleError("the pickle memoises an empty stack");
    memo_[index] = stack_.back();
  }
  ValuePtr recall(size_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) throw PickleError("the pickle recalls a value it never stored");
    return it->second;
  }

  ValuePtr container(Kind kind) {
    containers_.push_back(Value::of(kind));
    return containers_.back();
  }

  static constexpr size_t kMaxStack = 1u << 20;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  StorageLoader& storages_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<size_t, ValuePtr> memo_;
  std::vector<ValuePtr> containers_;
};

// torch.save before 1.6, or with _use_new_zipfile_serialization=False: a pickled magic number
// first (protocol 2, LONG1 of 10 bytes), then pickles that this reader does not take apart.
bool is_legacy_torch_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[4] = {0};
  in.read(head, 4);
  return in && std::memcmp(head, "\x80\x02\x8a\x0a", 4) == 0;
}

const Value* find_key(const Value& dict, const std::string& key) {
  for (const auto& [k, v] : dict.entries) {
    if (k->kind == Kind::kString && k->text == key) return v.get();
  }
  return nullptr;
}

StateDict state_dict_in(const Value& root) {
  const char* shape = "no model_state_dict (or flat state dict of tensors) in the file";
  if (root.kind != Kind::kDict) throw PickleError(shape);
  const Value* dict = &root;
  if (const Value* v = find_key(root, "model_state_dict")) {
    dict = v;
  } else if (const Value* s = find_key(root, "state_dict")) {
    dict = s;
  }
  if (dict->kind != Kind::kDict) throw PickleError(shape);
  StateDict state;
  for (const auto& [key, value] : dict->entries) {
    if (key->kind != Kind::kString || value->kind != Kind::kTensor) throw PickleError(shape);
    state.emplace_back(key->text, value->tensor.to(torch::kFloat32));
  }
  return state;
}

}  // namespace

StateDict read_pytorch_state_dict(const std::string& path) {
  const auto fail = [&](const std::string& why) {
    return InputError("cannot read PyTorch checkpoint '" + path + "': " + why);
  };
  if (is_legacy_torch_file(path)) {
    throw fail(
        "it is in torch.save's legacy non-zip format (torch < 1.6 or "
        "_use_new_zipfile_serialization=False), which wsdiff does not read; save it again with "
        "a current torch.save");
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception&) {
    throw fail("not a PyTorch checkpoint (not the zip archive torch.save writes)");
  }
  try {
    if (archive->hasRecord("byteorder")) {
      const auto [bytes, n] = archive->getRecord("byteorder");
      const std::string order(static_cast<const char*>(bytes.get()), n);
      if (order != "little") throw PickleError("its tensors are stored " + order + "-endian");
    }
    if (!archive->hasRecord("data.pkl")) throw PickleError("no data.pkl in the archive");
    const auto [data, size] = archive->getRecord("data.pkl");
    StorageLoader storages(*archive);
    RestrictedUnpickler unpickler(static_cast<const uint8_t*>(data.get()), size, storages);
    return state_dict_in(*unpickler.run());
  } catch (const PickleError& e) {
    throw fail(e.what());
  } catch (const c10::Error& e) {
    const std::string why = e.what_without_backtrace();
    throw fail("a damaged archive (" + why.substr(0, why.find('\n')) + ")");
  }
}

}  // namespace wsd
