// dist: data-parallel collectives for the torch addon, over libtorch's c10d (the engine under PyTorch's
// DistributedDataParallel). Rendezvous is c10d::TCPStore (rank 0 serves it at MASTER_ADDR:MASTER_PORT), the
// process group is c10d::ProcessGroupGloo over TCP. Nothing here reimplements a collective: a list of
// tensors is flattened into one contiguous bucket (one c10d call instead of one per tensor, as DDP's
// buckets), handed to c10d, and split back into new tensors of the input shapes.
//
// Built with c10d when the Gloo headers are found (binding.gyp defines GENMODELS_C10D); otherwise every
// entry point reports, in one line, that this libtorch build has no c10d/Gloo.
//
// One process group per process (as torch.distributed's default group). Calls block the JS thread until the
// collective completes or the group's timeout passes; a peer that died makes Gloo fail at once (its socket
// closes), one that hangs makes it fail at the timeout. Either way the error is thrown to JS.
#include <napi.h>
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#ifdef GENMODELS_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace genmodels {
// from torch_addon.cc: the native tensor behind a JS tensor id, and a new id for a tensor
const at::Tensor& tensorById(const Napi::Value& v);
Napi::Value wrapTensor(Napi::Env env, at::Tensor t);

namespace {

#ifdef GENMODELS_C10D
const char* const kUnavailable = nullptr;
#else
const char* const kUnavailable =
    "this torch addon was built without c10d/Gloo: its libtorch lacks ProcessGroupGloo.hpp or does not export "
    "c10d::ProcessGroupGloo and c10d::TCPStore, or Gloo's headers are missing (Debian: apt-get install "
    "libgloo-dev, then npm run build:native), or GENMODELS_NO_C10D was set (native/c10d.cjs)";
#endif

void requireAvailable(Napi::Env env) {
  if (kUnavailable) throw Napi::Error::New(env, kUnavailable);
}

#ifdef GENMODELS_C10D
std::vector<at::Tensor> tensorList(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of native tensor ids");
  auto a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(tensorById(a.Get(i)));
  return out;
}

// one contiguous buffer holding every tensor (same dtype), and the way back to the input shapes
at::Tensor flatten(Napi::Env env, const std::vector<at::Tensor>& ts) {
  if (ts.empty()) throw Napi::Error::New(env, "an empty list of tensors");
  std::vector<at::Tensor> flat;
  flat.reserve(ts.size());
  for (const auto& t : ts) {
    if (t.scalar_type() != ts[0].scalar_type())
      throw Napi::Error::New(env, "a bucket holds tensors of one dtype");
    flat.push_back(t.reshape({-1}));
  }
  return at::cat(flat).contiguous();
}

Napi::Value unflatten(Napi::Env env, const at::Tensor& flat, const std::vector<at::Tensor>& like) {
  auto out = Napi::Array::New(env, like.size());
  int64_t off = 0;
  for (size_t i = 0; i < like.size(); i++) {
    int64_t n = like[i].numel();
    // a copy: the result owns its storage (the bucket is freed with the last view otherwise kept alive)
    out.Set(uint32_t(i), wrapTensor(env, flat.narrow(0, off, n).reshape(like[i].sizes()).clone()));
    off += n;
  }
  return out;
}

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{0};
};
std::unique_ptr<Group> g_group;

Group& group(Napi::Env env) {
  if (!g_group) throw Napi::Error::New(env, "no process group (call distInit first)");
  return *g_group;
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// c10d's messages carry a C++ backtrace after the first line: JS gets the first line only
std::string firstLine(const std::string& msg) { return msg.substr(0, msg.find('\n')); }

void waitFor(Napi::Env env, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait(g_group->timeout);
  } catch (const std::exception& e) {
    const std::string msg = firstLine(e.what());
    throw Napi::Error::New(env, std::string(what) + " failed (rank " + std::to_string(g_group->rank) + " of " +
                                    std::to_string(g_group->size) + "): " + msg);
  }
}
// The reduce op argument at info[i] ('sum' when absent), one of `allowed`: "avg" is a SUM that the caller
// divides (Gloo has no AVG).
c10d::ReduceOp reduceOpArg(const Napi::CallbackInfo& info, size_t i, const std::vector<std::string>& allowed,
                           std::string& op) {
  op = info.Length() > i && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : "sum";
  if (std::find(allowed.begin(), allowed.end(), op) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw Napi::Error::New(info.Env(), "unknown reduce op '" + op + "' (" + list + ")");
  }
  return op == "max" ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
}

// reduce one buffer in place over the ranks
void allreduceInPlace(Napi::Env env, Group& g, at::Tensor& t, c10d::ReduceOp op) {
  c10d::AllreduceOptions o;
  o.reduceOp = op;
  std::vector<at::Tensor> bucket{t};
  waitFor(env, g.pg->allreduce(bucket, o), "allreduce");
}
#endif

// distInit(host, port, rank, worldSize, timeoutMs): join the group (rank 0 serves the TCPStore)
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireAvailable(env);
#ifdef GENMODELS_C10D
  if (g_group) throw Napi::Error::New(env, "the process group is already initialised");
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int rank = info[2].As<Napi::Number>().Int32Value();
  int size = info[3].As<Napi::Number>().Int32Value();
  auto timeout = std::chrono::milliseconds(int64_t(info[4].As<Napi::Number>().DoubleValue()));
  if (size < 1 || rank < 0 || rank >= size) throw Napi::RangeError::New(env, "rank must be in [0, worldSize)");
  if (port < 1 || port > 65535) throw Napi::RangeError::New(env, "port must be in [1, 65535]");
  try {
    auto g = std::make_unique<Group>();
    c10d::TCPStoreOptions so;
    so.port = uint16_t(port);
    so.isServer = rank == 0;
    so.numWorkers = size_t(size);
    so.waitWorkers = true;
    so.timeout = timeout;
    g->store = c10::make_intrusive<c10d::TCPStore>(host, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(host))
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, rank, size, opts);
    g->rank = rank;
    g->size = size;
    g->timeout = timeout;
    g_group = std::move(g);
  } catch (const std::exception& e) {
    const std::string msg = firstLine(e.what());
    throw Napi::Error::New(env, "rendezvous at " + host + ":" + std::to_string(port) + " failed (rank " +
                                    std::to_string(rank) + " of " + std::to_string(size) + "): " + msg);
  }
  return env.Undefined();
#else
  return env.Undefined();
#endif
}

// distAllreduce(ids, op 'sum'|'avg'|'max', scale = 1): new tensors holding the reduction over ranks of
// scale * each input (one bucket: the inputs are flattened into one buffer and reduced in one c10d call)
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireAvailable(env);
#ifdef GENMODELS_C10D
  Group& g = group(env);
  auto ts = tensorList(info[0]);
  std::string op;
  c10d::ReduceOp reduce = reduceOpArg(info, 1, {"sum", "avg", "max"}, op);
  double scale = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 1.0;
  at::Tensor flat = flatten(env, ts);
  if (scale != 1.0) flat.mul_(scale);
  allreduceInPlace(env, g, flat, reduce);
  if (op == "avg") flat.div_(double(g.size));
  return unflatten(env, flat, ts);
#else
  return env.Undefined();
#endif
}

// distBroadcast(ids, root = 0): new tensors holding root's values of each input (one bucket)
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireAvailable(env);
#ifdef GENMODELS_C10D
  Group& g = group(env);
  auto ts = tensorList(info[0]);
  int root = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  at::Tensor flat = flatten(env, ts);
  c10d::BroadcastOptions o;
  o.rootRank = root;
  std::vector<at::Tensor> bucket{flat};
  waitFor(env, g.pg->broadcast(bucket, o), "broadcast");
  return unflatten(env, flat, ts);
#else
  return env.Undefined();
#endif
}

// distAllreduceNumbers(Float64Array, op 'sum'|'max'): a new Float64Array reduced over ranks (float64: sums
// of many per-example values, as in a sharded evaluation, keep their precision)
Napi::Value AllreduceNumbers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireAvailable(env);
#ifdef GENMODELS_C10D
  Group& g = group(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, "distAllreduceNumbers: expected a Float64Array");
  auto in = info[0].As<Napi::Float64Array>();
  std::string op;
  c10d::ReduceOp reduce = reduceOpArg(info, 1, {"sum", "max"}, op);
  at::Tensor t = at::empty({int64_t(in.ElementLength())}, at::TensorOptions().dtype(at::kDouble));
  std::memcpy(t.data_ptr(), in.Data(), in.ElementLength() * sizeof(double));
  allreduceInPlace(env, g, t, reduce);
  auto out = Napi::Float64Array::New(env, in.ElementLength());
  std::memcpy(out.Data(), t.data_ptr(), in.ElementLength() * sizeof(double));
  return out;
#else
  return env.Undefined();
#endif
}

// distBarrier(): returns when every rank has called it (or throws at the timeout)
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireAvailable(env);
#ifdef GENMODELS_C10D
  waitFor(env, group(env).pg->barrier(), "barrier");
  return env.Undefined();
#else
  return env.Undefined();
#endif
}

// distDestroy(): leave the group (the store and Gloo's sockets close); a no-op when there is none
Napi::Value Destroy(const Napi::CallbackInfo& info) {
#ifdef GENMODELS_C10D
  g_group.reset();
#endif
  return info.Env().Undefined();
}

Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
#ifdef GENMODELS_C10D
  o.Set("initialised", Napi::Boolean::New(env, bool(g_group)));
  if (g_group) {
    o.Set("rank", Napi::Number::New(env, g_group->rank));
    o.Set("size", Napi::Number::New(env, g_group->size));
  }
#else
  o.Set("initialised", Napi::Boolean::New(env, false));
#endif
  return o;
}

}  // namespace

void registerDist(Napi::Env env, Napi::Object exports) {
  exports.Set("distAvailable", Napi::Boolean::New(env, kUnavailable == nullptr));
  exports.Set("distUnavailableReason", kUnavailable ? Napi::Value(Napi::String::New(env, kUnavailable))
                                                    : Napi::Value(env.Null()));
  exports.Set("distInit", Napi::Function::New(env, Init));
  exports.Set("distAllreduce", Napi::Function::New(env, Allreduce));
  exports.Set("distBroadcast", Napi::Function::New(env, Broadcast));
  exports.Set("distAllreduceNumbers", Napi::Function::New(env, AllreduceNumbers));
  exports.Set("distBarrier", Napi::Function::New(env, Barrier));
  exports.Set("distDestroy", Napi::Function::New(env, Destroy));
  exports.Set("distState", Napi::Function::New(env, State));
}

}  // namespace genmodels
