// torch_addon: the N-API bridge behind the 'torch' TensorFlow.js backend.
//
// ONE generic entry point, call(handle, ...args), invokes any ATen operator by schema name
// through the c10 dispatcher (boxed call on a stack of IValues). Handles come from
// op(name, overload) and index a cache of OperatorHandles. JS arguments are converted by the
// type of the schema argument they fill; missing trailing arguments take their defaults.
// Tensors are held in a native slot table and named in JS by integer ids (see "tensor slots");
// dispose(id) releases one.
// Autograd is off: tfjs differentiates through its own gradient kernels, so every call runs
// under c10::InferenceMode (set once per JS thread).
#include <napi.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <mutex>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using c10::IValue;
using c10::TypeKind;

namespace genmodels {
void registerDist(Napi::Env env, Napi::Object exports);  // dist.cc: the c10d process group
}

namespace {

struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ------------------------------------------------------------------ tensor slots
// Tensors live in a table owned here; JS holds integer ids (slot + generation * 2^24). No JS object, no
// GC finalizer and no V8 external-memory call per tensor: with one JS wrapper per result, a small add cost
// 6.9 us against 1.5 us on tfjs's cpu backend, and the wrappers kept the young-generation GC busy. Lifetime
// is explicit (dispose(id); the backend disposes every kernel temporary). A freed slot's generation moves
// on, so a stale id is detected ("use of a disposed tensor") instead of reaching the slot's next tenant.
// One table per process, not locked: the addon is used from one JS thread (the operator cache is shared too).
constexpr double kSlotSpan = double(1 << 24);
struct Slots {
  std::vector<at::Tensor> t;
  std::vector<uint32_t> gen;
  std::vector<uint32_t> freeList;
  size_t live = 0;
  int64_t bytes = 0;

  double add(at::Tensor v) {
    uint32_t i;
    if (!freeList.empty()) {
      i = freeList.back();
      freeList.pop_back();
    } else {
      if (t.size() >= (size_t(1) << 24)) throw JsError("too many live tensors (16M)");
      i = uint32_t(t.size());
      t.emplace_back();
      gen.push_back(0);
    }
    bytes += int64_t(v.nbytes());
    t[i] = std::move(v);
    live++;
    return double(gen[i]) * kSlotSpan + double(i);
  }
  // the slot of a live id, or -1
  int64_t find(double id) const {
    if (!(id >= 0) || id != double(int64_t(id))) return -1;
    int64_t i = int64_t(id) & ((int64_t(1) << 24) - 1);
    uint32_t g = uint32_t(int64_t(id) >> 24);
    if (size_t(i) >= t.size() || gen[size_t(i)] != g || !t[size_t(i)].defined()) return -1;
    return i;
  }
  const at::Tensor& get(double id) const {
    int64_t i = find(id);
    if (i < 0) throw JsError("use of a disposed tensor");
    return t[size_t(i)];
  }
  void drop(double id) {  // a second dispose of the same id is a no-op
    int64_t i = find(id);
    if (i < 0) return;
    bytes -= int64_t(t[size_t(i)].nbytes());
    t[size_t(i)].reset();
    gen[size_t(i)] = (gen[size_t(i)] + 1) & ((1u << 28) - 1);
    freeList.push_back(uint32_t(i));
    live--;
  }
};
Slots g_slots;

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  return Napi::Number::New(env, g_slots.add(std::move(t)));
}
const at::Tensor& unwrap(const Napi::Value& v) {
  if (!v.IsNumber()) throw JsError("expected a native tensor id");
  return g_slots.get(v.As<Napi::Number>().DoubleValue());
}
double num(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw JsError("expected a number for '" + what + "'");
  return v.As<Napi::Number>().DoubleValue();
}

// ------------------------------------------------------------------ JS -> IValue
IValue toIValue(const Napi::Value& v, const c10::Argument& arg, const c10::TypePtr& type);

IValue toList(const Napi::Value& v, const c10::Argument& arg, const c10::TypePtr& elem) {
  TypeKind k = elem->kind();
  if (!v.IsArray()) {  // int[2] stride=1 style broadcast
    if (k == TypeKind::IntType || k == TypeKind::SymIntType)
      return IValue(std::vector<int64_t>(arg.N() ? *arg.N() : 1, int64_t(num(v, arg.name()))));
    throw JsError("expected an array for '" + arg.name() + "'");
  }
  Napi::Array a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  switch (k) {
    case TypeKind::IntType:
    case TypeKind::SymIntType: {
      std::vector<int64_t> r(n);
      for (uint32_t i = 0; i < n; i++) r[i] = int64_t(num(a.Get(i), arg.name()));
      return IValue(r);
    }
    case TypeKind::FloatType: {
      std::vector<double> r(n);
      for (uint32_t i = 0; i < n; i++) r[i] = num(a.Get(i), arg.name());
      return IValue(r);
    }
    case TypeKind::BoolType: {
      c10::List<bool> r;
      for (uint32_t i = 0; i < n; i++) r.push_back(a.Get(i).ToBoolean().Value());
      return IValue(r);
    }
    case TypeKind::TensorType: {
      c10::List<at::Tensor> r;
      r.reserve(n);
      for (uint32_t i = 0; i < n; i++) r.push_back(unwrap(a.Get(i)));
      return IValue(r);
    }
    case TypeKind::OptionalType: {  // Tensor?[] (aten::index)
      c10::List<c10::optional<at::Tensor>> r;
      for (uint32_t i = 0; i < n; i++) {
        Napi::Value e = a.Get(i);
        if (e.IsNull() || e.IsUndefined()) r.push_back(c10::nullopt);
        else r.push_back(unwrap(e));
      }
      return IValue(r);
    }
    default:
      throw JsError("unsupported list type " + elem->str());
  }
}

IValue toIValue(const Napi::Value& v, const c10::Argument& arg, const c10::TypePtr& type) {
  if (v.IsNull() || v.IsUndefined()) return IValue();
  switch (type->kind()) {
    case TypeKind::OptionalType:
      return toIValue(v, arg, type->expectRef<c10::OptionalType>().getElementType());
    case TypeKind::TensorType:
      return IValue(unwrap(v));
    case TypeKind::IntType:
    case TypeKind::SymIntType:
    case TypeKind::ScalarTypeType:
    case TypeKind::LayoutType:
    case TypeKind::MemoryFormatType:
      return IValue(int64_t(num(v, arg.name())));
    case TypeKind::FloatType:
      return IValue(num(v, arg.name()));
    case TypeKind::BoolType:
      return IValue(v.ToBoolean().Value());
    case TypeKind::NumberType: {  // Scalar: integral numbers stay integral (no dtype promotion)
      if (v.IsBoolean()) return IValue(v.As<Napi::Boolean>().Value());
      double d = num(v, arg.name());
      if (d == double(int64_t(d)) && std::abs(d) < 9.0e15) return IValue(int64_t(d));
      return IValue(d);
    }
    case TypeKind::StringType:
      return IValue(v.ToString().Utf8Value());
    case TypeKind::ListType:
      return toList(v, arg, type->expectRef<c10::ListType>().getElementType());
    default:
      throw JsError("cannot convert argument '" + arg.name() + "' to " + type->str());
  }
}

// ------------------------------------------------------------------ IValue -> JS
Napi::Value fromIValue(Napi::Env env, IValue&& iv) {
  if (iv.isTensor()) return wrap(env, std::move(iv).toTensor());
  if (iv.isNone()) return env.Null();
  if (iv.isTensorList()) {
    auto l = iv.toTensorList();
    Napi::Array a = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) a.Set(uint32_t(i), wrap(env, l.get(i)));
    return a;
  }
  if (iv.isTuple()) {
    const auto& el = iv.toTupleRef().elements();
    Napi::Array a = Napi::Array::New(env, el.size());
    for (size_t i = 0; i < el.size(); i++) a.Set(uint32_t(i), fromIValue(env, IValue(el[i])));
    return a;
  }
  // numbers would be indistinguishable from tensor ids: operators returning scalars are not callable
  throw JsError("unsupported return type " + iv.tagKind() + " (only tensors, lists and tuples of them)");
}

// ------------------------------------------------------------------ operator cache
std::vector<c10::OperatorHandle> g_ops;
std::unordered_map<std::string, uint32_t> g_index;

std::string errorText(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

#define GUARDED(body)                                                          \
  try {                                                                        \
    body                                                                       \
  } catch (const Napi::Error& e) {                                             \
    throw;                                                                     \
  } catch (const std::exception& e) {                                          \
    throw Napi::Error::New(info.Env(), errorText(e));                          \
  }

// op(name, overload) -> integer handle (cached)
Napi::Value Op(const Napi::CallbackInfo& info) {
  GUARDED({
    if (!info[0].IsString()) throw JsError("op(name, overload): name must be a string");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string ov = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    std::string key = name + "." + ov;
    auto it = g_index.find(key);
    if (it != g_index.end()) return Napi::Number::New(info.Env(), it->second);
    auto h = c10::Dispatcher::singleton().findSchema({name, ov});
    if (!h) throw JsError("unknown ATen operator " + key);
    g_ops.push_back(*h);
    g_index[key] = uint32_t(g_ops.size() - 1);
    return Napi::Number::New(info.Env(), g_index[key]);
  })
}

// meta buffer (see meta() below): call() and fast() also write their single tensor result's meta there
int32_t* g_meta = nullptr;
size_t g_metaLen = 0;
inline void writeMeta(const at::Tensor& t) {
  size_t rank = size_t(t.dim());
  if (g_meta == nullptr || rank + 2 > g_metaLen) {
    if (g_meta != nullptr) g_meta[0] = -1;  // JS then asks meta(), which reports the error
    return;
  }
  g_meta[0] = int32_t(t.scalar_type());
  g_meta[1] = int32_t(rank);
  const auto sizes = t.sizes();
  for (size_t i = 0; i < rank; i++) g_meta[2 + i] = int32_t(sizes[i]);
}

// call(handle, ...args): THE generic entry point. Missing trailing args take schema defaults.
// One argument stack is reused across calls (the addon runs on one JS thread; a call never re-enters).
// A single tensor result's dtype and shape are written into the meta buffer (no meta() crossing).
Napi::Value Call(const Napi::CallbackInfo& info) {
  GUARDED({
    Napi::Env env = info.Env();
    uint32_t idx = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : UINT32_MAX;
    if (idx >= g_ops.size()) throw JsError("bad operator handle");
    const c10::OperatorHandle& op = g_ops[idx];
    const auto& args = op.schema().arguments();
    size_t nJs = info.Length() - 1;
    if (nJs > args.size()) throw JsError(op.schema().name() + ": too many arguments");
    static torch::jit::Stack stack;
    stack.clear();
    for (size_t i = 0; i < args.size(); i++) {
      const auto& a = args[i];
      if (i < nJs && !info[i + 1].IsUndefined()) stack.emplace_back(toIValue(info[i + 1], a, a.type()));
      else if (a.default_value()) stack.push_back(*a.default_value());
      else if (a.type()->kind() == TypeKind::OptionalType) stack.emplace_back();
      else {
        stack.clear();
        throw JsError(op.schema().name() + ": missing argument '" + a.name() + "'");
      }
    }
    try {
      op.callBoxed(&stack);
    } catch (...) {
      stack.clear();
      throw;
    }
    if (stack.size() == 1) {
      if (stack[0].isTensor()) {
        at::Tensor t = std::move(stack[0]).toTensor();
        stack.clear();
        if (!t.defined()) return env.Null();
        writeMeta(t);
        return Napi::Number::New(env, g_slots.add(std::move(t)));
      }
      Napi::Value r = fromIValue(env, std::move(stack[0]));
      stack.clear();
      return r;
    }
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(uint32_t(i), fromIValue(env, std::move(stack[i])));
    stack.clear();
    return out;
  })
}

// fast(code, a, b?): unboxed calls of the hottest elementwise operators (no argument stack, no schema walk,
// no boxed kernel wrapper). Codes: 0 add, 1 sub, 2 mul, 3 div (Tensor, Tensor); 10 neg, 11 exp, 12 sigmoid,
// 13 log, 14 sqrt, 15 tanh, 16 relu, 17 square, 18 silu. The result's meta goes to the meta buffer.
// both float32, contiguous, the same shape and at most 256 values
static bool tinySame(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && a.numel() <= 256 &&
         a.is_contiguous() && b.is_contiguous() && a.sizes() == b.sizes();
}

Napi::Value Fast(const Napi::CallbackInfo& info) {
  GUARDED({
    Napi::Env env = info.Env();
    int code = info[0].As<Napi::Number>().Int32Value();
    const at::Tensor& a = unwrap(info[1]);
    at::Tensor r;
    if (code < 10) {
      const at::Tensor& b = unwrap(info[2]);
      if (tinySame(a, b)) {
        // a few contiguous float32 values of one shape: the loop itself, without TensorIterator's set-up (most of
        // a small op's native time); the same IEEE operations as ATen's kernels
        r = at::empty(a.sizes(), a.options());
        const float* x = a.data_ptr<float>();
        const float* y = b.data_ptr<float>();
        float* z = r.data_ptr<float>();
        const int64_t n = a.numel();
        switch (code) {
          case 0: for (int64_t i = 0; i < n; i++) z[i] = x[i] + y[i]; break;
          case 1: for (int64_t i = 0; i < n; i++) z[i] = x[i] - y[i]; break;
          case 2: for (int64_t i = 0; i < n; i++) z[i] = x[i] * y[i]; break;
          case 3: for (int64_t i = 0; i < n; i++) z[i] = x[i] / y[i]; break;
          default: throw JsError("fast: bad code");
        }
        writeMeta(r);
        return Napi::Number::New(env, g_slots.add(std::move(r)));
      }
      switch (code) {
        case 0: r = at::add(a, b); break;
        case 1: r = at::sub(a, b); break;
        case 2: r = at::mul(a, b); break;
        case 3: r = at::div(a, b); break;
        default: throw JsError("fast: bad code");
      }
    } else {
      switch (code) {
        case 10: r = at::neg(a); break;
        case 11: r = at::exp(a); break;
        case 12: r = at::sigmoid(a); break;
        case 13: r = at::log(a); break;
        case 14: r = at::sqrt(a); break;
        case 15: r = at::tanh(a); break;
        case 16: r = at::relu(a); break;
        case 17: r = at::square(a); break;
        case 18: r = at::silu(a); break;
        default: throw JsError("fast: bad code");
      }
    }
    writeMeta(r);
    return Napi::Number::New(env, g_slots.add(std::move(r)));
  })
}

Napi::Value Schema(const Napi::CallbackInfo& info) {
  GUARDED({
    uint32_t idx = info[0].As<Napi::Number>().Uint32Value();
    if (idx >= g_ops.size()) throw JsError("bad operator handle");
    std::stringstream ss;
    ss << g_ops[idx].schema();
    return Napi::String::New(info.Env(), ss.str());
  })
}

// ------------------------------------------------------------------ data in / out
at::ScalarType dtypeOf(const std::string& d) {
  if (d == "float32") return at::kFloat;
  if (d == "int32") return at::kInt;
  if (d == "bool") return at::kBool;
  throw JsError("unsupported dtype '" + d + "' (torch backend supports float32, int32, bool)");
}

// fromArray(typedArray, shape, dtype): copies the data into a new tensor.
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  GUARDED({
    if (!info[0].IsTypedArray()) throw JsError("fromArray: expected a typed array");
    if (!info[1].IsArray()) throw JsError("fromArray: expected a shape array");
    auto ta = info[0].As<Napi::TypedArray>();
    at::ScalarType st = dtypeOf(info[2].ToString().Utf8Value());
    Napi::Array s = info[1].As<Napi::Array>();
    std::vector<int64_t> shape(s.Length());
    int64_t n = 1;
    for (uint32_t i = 0; i < s.Length(); i++) {
      double d = num(s.Get(i), "shape");
      if (d < 0 || d != double(int64_t(d))) throw JsError("fromArray: bad shape");
      n *= shape[i] = int64_t(d);
    }
    at::ScalarType src;
    switch (ta.TypedArrayType()) {
      case napi_float32_array: src = at::kFloat; break;
      case napi_int32_array: src = at::kInt; break;
      case napi_uint8_array: src = st == at::kBool ? at::kBool : at::kByte; break;
      default: throw JsError("fromArray: typed array must be Float32Array, Int32Array or Uint8Array");
    }
    if (int64_t(ta.ElementLength()) != n) throw JsError("fromArray: data length does not match shape");
    void* p = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    if (n) {
      if (src == st) std::memcpy(t.data_ptr(), p, n * at::elementSize(st));
      else t.copy_(at::from_blob(p, shape, at::TensorOptions().dtype(src)));
    }
    return wrap(info.Env(), t);
  })
}

// toArray(tensor): Float32Array (floating), Int32Array (integral), Uint8Array (bool).
Napi::Value ToArray(const Napi::CallbackInfo& info) {
  GUARDED({
    at::Tensor t = unwrap(info[0]);
    at::ScalarType st = t.scalar_type();
    st = st == at::kBool ? st : at::isIntegralType(st, false) ? at::kInt : at::kFloat;
    t = t.to(st).contiguous();
    size_t n = size_t(t.numel());
    size_t bytes = n * t.element_size();
    auto buf = Napi::ArrayBuffer::New(info.Env(), bytes);
    if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    if (st == at::kBool) return Napi::Uint8Array::New(info.Env(), n, buf, 0);
    if (st == at::kInt) return Napi::Int32Array::New(info.Env(), n, buf, 0);
    return Napi::Float32Array::New(info.Env(), n, buf, 0);
  })
}

// unique(tensor): no other tensor or view shares its memory (safe to update in place).
Napi::Value Unique(const Napi::CallbackInfo& info) {
  GUARDED({
    const at::Tensor& t = unwrap(info[0]);
    return Napi::Boolean::New(info.Env(), t.use_count() == 1 && t.storage().use_count() == 1);
  })
}

// dispose(id): release the tensor (ids already released are ignored).
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  if (info[0].IsNumber()) g_slots.drop(info[0].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// meta(id): writes [scalar type code, rank, dim 0, dim 1, ...] into the Int32Array given to
// setMetaBuffer (no JS allocation per call) and returns the rank.
Napi::Reference<Napi::Int32Array> g_metaRef;
Napi::Value SetMetaBuffer(const Napi::CallbackInfo& info) {
  GUARDED({
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw JsError("setMetaBuffer: expected an Int32Array");
    auto a = info[0].As<Napi::Int32Array>();
    g_metaRef = Napi::Persistent(a);
    g_meta = a.Data();
    g_metaLen = a.ElementLength();
    return info.Env().Undefined();
  })
}
Napi::Value Meta(const Napi::CallbackInfo& info) {
  GUARDED({
    const at::Tensor& t = unwrap(info[0]);
    size_t rank = size_t(t.dim());
    if (g_meta == nullptr || rank + 2 > g_metaLen) throw JsError("meta: buffer missing or rank too large");
    writeMeta(t);
    return Napi::Number::New(info.Env(), double(rank));
  })
}

// stats(): live tensors and their bytes (views count their storage again)
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("tensors", Napi::Number::New(info.Env(), double(g_slots.live)));
  o.Set("bytes", Napi::Number::New(info.Env(), double(g_slots.bytes)));
  return o;
}

// ------------------------------------------------------------------ runtime settings
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  GUARDED({
    int n = int(num(info[0], "threads"));
    if (n < 1) throw JsError("setNumThreads: need at least one thread");
    at::set_num_threads(n);
    return Napi::Number::New(info.Env(), at::get_num_threads());
  })
}
// The OpenMP team size of the next parallel regions (ATen parallel_for, oneDNN, OpenBLAS-OpenMP), without
// at::set_num_threads' other work (it also resizes the pthreadpool: ~100s of us per call). libgomp is
// already loaded by libtorch; resolved once. Returns false when the OpenMP runtime is not present.
Napi::Value SetOmpThreads(const Napi::CallbackInfo& info) {
  using Fn = void (*)(int);
  static Fn fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (fn != nullptr) fn(int(info[0].As<Napi::Number>().Int32Value()));
  return Napi::Boolean::New(info.Env(), fn != nullptr);
}
Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}
// ------------------------------------------------------------------ caching CPU allocator
// tfjs allocates a fresh output for every kernel. With glibc, large blocks (>= 128 KiB) come from
// mmap or the top of the heap and are returned to the kernel on free, so every training step
// re-faults its working set (~1 page fault per 4 KiB written). This allocator keeps freed large
// blocks in per-size free lists (up to `cap` bytes) and hands them out again: no faults in steady
// state. (mallopt tuning was measured instead and fragments the heap without bound.)
// data == context and a raw deleter, as oneDNN's raw_allocate/raw_deallocate require.
class CachingAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kMin = 128 << 10;
  size_t cap = size_t(1) << 30;
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> lists;  // block size -> free blocks
  std::unordered_map<void*, size_t> live;                // large blocks in use -> size
  size_t cached = 0;

  at::DataPtr allocate(size_t n) const override {
    return const_cast<CachingAllocator*>(this)->get(n);
  }
  at::DeleterFnPtr raw_deleter() const override { return &giveBack; }
  at::DataPtr get(size_t n) {
    if (n < kMin) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &giveBack, at::Device(at::kCPU)};
    }
    size_t size = (n + 4095) & ~size_t(4095);
    std::lock_guard<std::mutex> lock(mu);
    auto& list = lists[size];
    void* p = list.empty() ? c10::alloc_cpu(size) : list.back();
    if (!list.empty()) list.pop_back(), cached -= size;
    live[p] = size;
    return {p, p, &giveBack, at::Device(at::kCPU)};
  }
  static void giveBack(void* p);
  size_t emptyCache() {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = cached;
    for (auto& kv : lists)
      for (void* q : kv.second) c10::free_cpu(q);
    lists.clear();
    cached = 0;
    return n;
  }
};
CachingAllocator g_alloc;
void CachingAllocator::giveBack(void* p) {
  {
    std::lock_guard<std::mutex> lock(g_alloc.mu);
    auto it = g_alloc.live.find(p);
    if (it != g_alloc.live.end()) {
      size_t size = it->second;
      g_alloc.live.erase(it);
      if (g_alloc.cached + size <= g_alloc.cap) {
        g_alloc.lists[size].push_back(p);
        g_alloc.cached += size;
        return;
      }
    }
  }
  c10::free_cpu(p);
}

// useCachingAllocator(capBytes): route CPU tensor memory through the cache (idempotent).
Napi::Value UseCachingAllocator(const Napi::CallbackInfo& info) {
  GUARDED({
    static bool installed = false;
    if (info.Length() > 0 && info[0].IsNumber()) g_alloc.cap = size_t(num(info[0], "capBytes"));
    if (!installed) {
      c10::SetCPUAllocator(&g_alloc, /*priority=*/10);
#if defined(__GLIBC__)
      // Tensor blocks of >= 128 KiB from mmap, so that a freed (or evicted) block goes back to the OS. With
      // glibc's default, sizes that vary from call to call (pixel-by-pixel sampling after a likelihood pass)
      // fragmented the heap until the process held 23 GB; the cache above already reuses hot sizes.
      mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    }
    installed = true;
    return Napi::Boolean::New(info.Env(), true);
  })
}
Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(g_alloc.emptyCache()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // tfjs records its own tape; libtorch must not. InferenceMode is thread-local: one per JS thread.
  static thread_local std::unique_ptr<c10::InferenceMode> guard(new c10::InferenceMode());
  exports.Set("op", Napi::Function::New(env, Op));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("fast", Napi::Function::New(env, Fast));
  exports.Set("schema", Napi::Function::New(env, Schema));
  exports.Set("fromArray", Napi::Function::New(env, FromArray));
  exports.Set("toArray", Napi::Function::New(env, ToArray));
  exports.Set("unique", Napi::Function::New(env, Unique));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("setMetaBuffer", Napi::Function::New(env, SetMetaBuffer));
  exports.Set("meta", Napi::Function::New(env, Meta));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("setOmpThreads", Napi::Function::New(env, SetOmpThreads));
  exports.Set("useCachingAllocator", Napi::Function::New(env, UseCachingAllocator));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
  exports.Set("libtorchVersion", Napi::String::New(env, TORCH_VERSION));
  genmodels::registerDist(env, exports);
  return exports;
}

}  // namespace

// for dist.cc: tensors by their JS id
namespace genmodels {
const at::Tensor& tensorById(const Napi::Value& v) { return unwrap(v); }
Napi::Value wrapTensor(Napi::Env env, at::Tensor t) { return wrap(env, std::move(t)); }
}  // namespace genmodels

NODE_API_MODULE(torch_addon, Init)
