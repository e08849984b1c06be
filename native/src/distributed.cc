// Op table, part 5: data-parallel collectives over libtorch's c10d (the engine behind
// torch.distributed). One process group per process, like torch.distributed's default group:
//
//   distInit(masterAddr, masterPort, rank, worldSize, timeoutMs, ifname, backend)   TCPStore
//       rendezvous (rank 0 hosts the store) + ProcessGroupGloo (CPU tensors, or CUDA ones when
//       libtorch's gloo has CUDA) or ProcessGroupNCCL (CUDA tensors; built when config.mjs finds
//       it: USE_C10D_NCCL)
//   distAllReduce(tensors[], op)            in place, op "sum" | "max" | "min"
//   distAllReduceMean(tensors[], bucketBytes) -> seconds   gradients: flattened into buckets of
//       ≈ bucketBytes, all buckets in flight at once, averaged over ranks, copied back
//   distBroadcast(tensors[], root)          in place
//   distAllGather(t[...]) -> [world, ...]
//   distBarrier()
//   distDeadRanks(staleMs) -> ranks whose heartbeat is older than staleMs (or the store is gone)
//   distDestroy()
//   distParentDeathSignal(signal)           prctl(PR_SET_PDEATHSIG): die with the launcher
//
// Overlapped gradient averaging, as DDP's Reducer (see class Reducer below):
//   distReducerCreate(params[], bucketBytes) -> id   hooks on every parameter's grad accumulator
//   distReducerArm(id)                     the next backward launches buckets as they complete
//   distReducerFinish(id) -> {waitSeconds, commSeconds, buckets, launchedEarly, error}
//                                          launches what is left, waits, averages, writes back
//   distReducerDestroy(id)
//
// Every collective blocks the calling (JS) thread until it completes or the group's timeout
// passes; gloo raises at once when a peer's connection closes (the peer died). A background
// thread writes a heartbeat key every second through its own store connection, so after a
// failure the survivors can name the rank that died or hung (distDeadRanks).
//
// Every backend-specific line sits in init(); the collectives and the Reducer only use the
// backend interface (compat::C10dBackend).
#include "args.h"
#include "compat.h"

#ifdef USE_C10D_GLOO
#include <sys/prctl.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#endif

namespace vm {
namespace {

#ifdef USE_C10D_GLOO
using Millis = std::chrono::milliseconds;

int64_t nowMs() {
  return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Writes "heartbeat/<rank>" = wall-clock ms every second on a connection of its own (the main
// connection may be blocked inside a collective's rendezvous).
class Heartbeat {
 public:
  Heartbeat(const std::string& host, uint16_t port, int rank, Millis timeout) {
    c10d::TCPStoreOptions o;
    o.port = port;
    o.isServer = false;
    o.waitWorkers = false;
    o.timeout = timeout;
    compat::useClassicTcpStore(o);
    store_ = c10::make_intrusive<c10d::TCPStore>(host, o);
    key_ = "videomae/heartbeat/" + std::to_string(rank);
    beat();
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        for (int i = 0; i < 10 && !stop_.load(); i++) std::this_thread::sleep_for(Millis(100));
        try {
          beat();
        } catch (...) {
          return;  // the store (rank 0) is gone; the collectives will report it
        }
      }
    });
  }
  ~Heartbeat() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void beat() {
    const std::string v = std::to_string(nowMs());
    store_->set(key_, std::vector<uint8_t>(v.begin(), v.end()));
  }
  c10::intrusive_ptr<c10d::TCPStore> store_;
  std::string key_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

struct Group {
  int rank = 0;
  int world = 1;
  Millis timeout{0};
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<compat::C10dBackend> pg;  // gloo or NCCL
  std::string backend;
  std::unique_ptr<Heartbeat> heartbeat;
};

// Deliberately leaked unless distDestroy() runs: destroying a gloo group at process exit can
// block on peers that are already gone.
Group* group = nullptr;

Group& current() {
  TORCH_CHECK(group != nullptr, "no process group: call initDistributed() first");
  return *group;
}

// The tensors of one collective: contiguous, all on one device, and one the backend can reach
// (NCCL: CUDA tensors; gloo: CPU tensors, or CUDA ones when libtorch's gloo has CUDA).
std::vector<at::Tensor> collectiveTensors(const std::vector<at::Tensor>& ts, const char* what) {
  for (const auto& t : ts) {
    TORCH_CHECK(t.is_contiguous(), what, ": tensors must be contiguous (", shapeString(t), ")");
    TORCH_CHECK(t.device() == ts.front().device(), what, ": all tensors must be on one device, got ", ts.front().device(), " and ", t.device());
  }
  if (!ts.empty() && group && group->backend == "nccl") {
    TORCH_CHECK(ts.front().is_cuda(), what, ": the NCCL backend needs CUDA tensors, got ", ts.front().device());
  }
  return ts;
}

void wait(const c10::intrusive_ptr<c10d::Work>& w) {
  w->wait(current().timeout);
}

c10d::ReduceOp reduceOp(const std::string& op) {
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  TORCH_CHECK(false, "unknown reduce op '", op, "' (use sum, max or min)");
}

std::shared_ptr<::gloo::transport::Device> device(const std::string& masterAddr, const std::string& ifname) {
  if (!ifname.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  // All ranks on this machine talking over loopback: bind there (the hostname may not resolve
  // inside containers). Otherwise as torch.distributed: this machine's hostname, else loopback.
  if (masterAddr == "localhost" || masterAddr.rfind("127.", 0) == 0) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

void init(const Args& a) {
  TORCH_CHECK(group == nullptr, "the process group is already initialised (rank ", group ? group->rank : -1, ")");
  const std::string addr = a.s(0);
  const int64_t port = a.i(1), rank = a.i(2), world = a.i(3);
  const Millis timeout(a.i(4));
  const std::string ifname = a.has(5) ? a.s(5) : "";
  const std::string backend = a.has(6) ? a.s(6) : "gloo";
  TORCH_CHECK(backend == "gloo" || backend == "nccl", "backend must be gloo or nccl, got '", backend, "'");
#ifndef USE_C10D_NCCL
  TORCH_CHECK(backend != "nccl",
              "this addon was built without NCCL (it needs a CUDA libtorch with ProcessGroupNCCL and nccl.h: "
              "Debian libnccl-dev, or a pip torch); use --backend gloo");
#endif
  TORCH_CHECK(port > 0 && port < 65536, "master port must be in 1..65535, got ", port);
  TORCH_CHECK(world >= 1 && rank >= 0 && rank < world, "rank ", rank, " is not in 0..", world - 1);
  auto g = std::make_unique<Group>();
  g->rank = static_cast<int>(rank);
  g->world = static_cast<int>(world);
  g->timeout = timeout;
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(port);
  o.isServer = rank == 0;
  o.numWorkers = static_cast<size_t>(world);
  o.waitWorkers = true;  // every rank blocks here until all have connected (or the timeout)
  o.timeout = timeout;
  compat::useClassicTcpStore(o);
  g->store = c10::make_intrusive<c10d::TCPStore>(addr, o);
  g->backend = backend;
  if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    // One GPU per process: the caller has made cuda:LOCAL_RANK current for its tensors; NCCL's
    // communicator is created lazily on the device of the first collective's tensors.
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("videomae/nccl", g->store);
    g->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, g->rank, g->world, opts);
#endif
  } else {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(device(addr, ifname));
    opts->threads = 2;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("videomae/gloo", g->store);
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, g->rank, g->world, opts);
  }
  g->heartbeat = std::make_unique<Heartbeat>(addr, static_cast<uint16_t>(port), g->rank, timeout);
  group = g.release();
}

// Writes flat / world into each tensor, in one pass (the division writes straight into it). flat is
// the all-reduced sum of the tensors, concatenated; slots[j] = {tensor, its element count}, the
// tensor undefined where this rank has none (its slice, zeros on this rank, is skipped). Both
// gradient paths use it, so overlapped and after-backward averaging give the same bits.
void writeMeans(const at::Tensor& flat, const std::vector<std::pair<at::Tensor, int64_t>>& slots, int world) {
  const at::Tensor w = at::scalar_tensor(static_cast<double>(world), flat.options());
  int64_t off = 0;
  for (const auto& [t, n] : slots) {
    if (t.defined()) {
      at::Tensor out = t;  // div_out takes a non-const reference; it shares t's storage
      at::div_out(out, flat.narrow(0, off, n).view(t.sizes()), w);
    }
    off += n;
  }
}

double steadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Gradient averaging overlapped with backward, the way DDP's Reducer does it. The parameters are
// split into buckets of ≈ bucketBytes in reverse order (the order backward produces their
// gradients: head first, patch embedding last). A post-hook on each parameter's gradient
// accumulator (AccumulateGrad, which has just written param.grad when its post-hooks run) counts
// the bucket down; a complete bucket is flattened and its all-reduce launched asynchronously at
// once, so the transfer runs on gloo's threads while backward computes the earlier layers.
// Buckets are launched strictly in bucket order (a later bucket that completes first waits for
// the earlier ones): gloo pairs collectives by the order in which ranks issue them.
//
// Hooks do C++ work only (no N-API), so they may run on any autograd thread: the calling thread
// for CPU graphs, a device thread for CUDA ones.
//
// Only an armed reducer reacts (arm() before the backward of the last micro-step of a gradient
// accumulation: the earlier micro-steps just accumulate locally, DDP's no_sync). finish() then
// launches, in order, every bucket the backward did not complete (parameters without a gradient
// this step count as zeros in the sum; on ranks where they have none they stay without one, as in
// distAllReduceMean), waits for all, divides by the world size and copies the means back into
// param.grad — sum-then-divide as distAllReduceMean, so both give the same numbers.
//
// Backend-neutral: it only needs allreduce() and Work's wait/future, which ProcessGroupNCCL has
// too (1.13: c10d::ProcessGroup is the base of both; 2.x calls it c10d::Backend — that alias
// belongs in compat.h). Version-specific autograd API: impl::grad_accumulator,
// Node::add_post_hook and LambdaPostHook exist unchanged from libtorch 1.13 to 2.x.
class Reducer {
 public:
  using Comm = c10::intrusive_ptr<compat::C10dBackend>;

  Reducer(Comm pg, int world, Millis timeout, std::vector<at::Tensor> params, int64_t bucketBytes)
      : pg_(std::move(pg)), world_(world), timeout_(timeout), params_(std::move(params)) {
    bucketOf_.resize(params_.size());
    int64_t bytes = bucketBytes;
    for (size_t k = params_.size(); k-- > 0;) {
      const auto& p = params_[k];
      TORCH_CHECK(p.is_leaf() && p.requires_grad(), "distReducerCreate: parameter ", k, " is not a leaf that requires grad");
      const bool sameType = !buckets_.empty() && params_[buckets_.back().params.front()].scalar_type() == p.scalar_type();
      if (bytes + static_cast<int64_t>(p.nbytes()) > bucketBytes || !sameType) {
        buckets_.emplace_back();
        bytes = 0;
      }
      bucketOf_[k] = buckets_.size() - 1;
      buckets_.back().params.push_back(k);
      bytes += static_cast<int64_t>(p.nbytes());
    }
    seen_.assign(params_.size(), false);
  }

  // Registers the hooks; separate from the constructor because they hold a weak reference to
  // this reducer (a hook that outlives it does nothing).
  static std::shared_ptr<Reducer> create(Comm pg, int world, Millis timeout, std::vector<at::Tensor> params,
                                         int64_t bucketBytes) {
    auto r = std::make_shared<Reducer>(std::move(pg), world, timeout, std::move(params), bucketBytes);
    std::weak_ptr<Reducer> weak = r;
    for (size_t k = 0; k < r->params_.size(); k++) {
      // The accumulator is held here: autograd keeps only a weak reference to it between
      // backward passes, and a new one (without our hook) would be made once it expired.
      auto acc = torch::autograd::impl::grad_accumulator(r->params_[k]);
      acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [weak, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
            if (auto self = weak.lock()) self->ready(k);
            return outputs;
          }));
      r->accumulators_.push_back(std::move(acc));
    }
    return r;
  }

  void arm() {
    std::lock_guard<std::mutex> lock(mu_);
    TORCH_CHECK(!armed_, "distReducerArm: the reducer is already armed (finish() the previous step first)");
    for (auto& b : buckets_) {
      b.pending = b.params.size();
      b.work.reset();
      b.flat = at::Tensor();
      b.launchedAt = 0;
      b.doneAt.store(0);
    }
    std::fill(seen_.begin(), seen_.end(), false);
    next_ = 0;
    error_.clear();
    armed_ = true;
  }

  Napi::Value finish(const Args& a) {
    const double t0 = steadySeconds();
    size_t early;
    {
      std::lock_guard<std::mutex> lock(mu_);
      TORCH_CHECK(armed_, "distReducerFinish: the reducer was not armed for this step");
      early = next_;
      while (next_ < buckets_.size()) launch(next_++);
      armed_ = false;
    }
    double first = 0, last = 0;
    for (size_t i = 0; i < buckets_.size(); i++) {
      // Bucket by bucket in launch order: the means of a finished bucket are written back while
      // the later ones are still in flight.
      auto& b = buckets_[i];
      b.work->wait(timeout_);
      std::vector<std::pair<at::Tensor, int64_t>> slots;
      for (size_t k : b.params) slots.emplace_back(params_[k].grad(), params_[k].numel());  // grad undefined: none here
      writeMeans(b.flat, slots, world_);
      b.flat = at::Tensor();
      b.work.reset();
      first = i == 0 ? b.launchedAt : std::min(first, b.launchedAt);
      last = std::max(last, b.doneAt.load());
    }
    const double t1 = steadySeconds();
    auto o = Napi::Object::New(a.env);
    o.Set("error", error_);  // a usage error, not a failed collective: JS raises it with its own type
    o.Set("waitSeconds", t1 - t0);
    o.Set("commSeconds", buckets_.empty() ? 0.0 : std::max(last, first) - first);
    o.Set("buckets", static_cast<double>(buckets_.size()));
    o.Set("launchedEarly", static_cast<double>(early));
    return o;
  }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_, in reverse parameter order
    size_t pending = 0;          // parameters whose gradient is not final yet this step
    at::Tensor flat;             // the bucket's gradients, concatenated (while in flight)
    c10::intrusive_ptr<c10d::Work> work;
    double launchedAt = 0;
    std::atomic<double> doneAt{0};
    Bucket() = default;
    Bucket(Bucket&& o) noexcept : params(std::move(o.params)) {}
  };

  // Post-hook of parameter k's accumulator: its gradient for this backward is in param.grad.
  void ready(size_t k) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_) return;
    auto& b = buckets_[bucketOf_[k]];
    if (seen_[k]) {
      // A second backward pass reached it (used in two graphs): fine until its bucket is sent.
      if (bucketOf_[k] < next_ && error_.empty()) {
        error_ = "overlapped all-reduce: parameter " + std::to_string(k) + " received another gradient after its bucket was sent " +
                 "(it is used in more than one backward pass per step); average gradients without overlap instead";
      }
      return;
    }
    seen_[k] = true;
    if (--b.pending == 0) {
      while (next_ < buckets_.size() && buckets_[next_].pending == 0) launch(next_++);
    }
  }

  // Flattens bucket i (missing gradients as zeros) and starts its all-reduce (sum). mu_ is held.
  void launch(size_t i) {
    auto& b = buckets_[i];
    std::vector<at::Tensor> parts;
    for (size_t k : b.params) {
      const auto& p = params_[k];
      const auto& g = p.grad();
      parts.push_back(g.defined() ? g.reshape({-1}) : at::zeros({p.numel()}, p.options().requires_grad(false)));
    }
    std::vector<at::Tensor> flat{at::cat(parts)};
    b.flat = flat[0];
    b.launchedAt = steadySeconds();
    b.work = pg_->allreduce(flat);
    Bucket* bp = &b;
    // Completion time, for how much of the transfer backward hid (gloo completes the future on
    // its own thread; if it is already done the callback runs here).
    b.work->getFuture()->addCallback([bp](c10::ivalue::Future&) { bp->doneAt.store(steadySeconds()); });
  }

  Comm pg_;
  int world_;
  Millis timeout_;
  std::vector<at::Tensor> params_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<size_t> bucketOf_;
  std::vector<Bucket> buckets_;
  std::vector<bool> seen_;
  size_t next_ = 0;
  bool armed_ = false;
  std::string error_;
  std::mutex mu_;
};

std::map<int64_t, std::shared_ptr<Reducer>> reducers;
int64_t nextReducerId = 1;

Reducer& reducerOf(int64_t id) {
  auto it = reducers.find(id);
  TORCH_CHECK(it != reducers.end(), "no gradient reducer ", id, " (destroyed, or its process group was)");
  return *it->second;
}

// Ranks whose last heartbeat is older than staleMs; all other ranks when the store itself
// (hosted by rank 0) cannot be reached — then rank 0 is the one that died.
std::vector<int64_t> deadRanks(int64_t staleMs) {
  Group& g = current();
  std::vector<int64_t> dead;
  try {
    const int64_t now = nowMs();
    for (int r = 0; r < g.world; r++) {
      if (r == g.rank) continue;
      const std::string key = "videomae/heartbeat/" + std::to_string(r);
      if (!g.store->check({key})) {
        dead.push_back(r);
        continue;
      }
      auto v = g.store->get(key);
      const int64_t t = std::stoll(std::string(v.begin(), v.end()));
      if (now - t > staleMs) dead.push_back(r);
    }
  } catch (const std::exception&) {
    return {0};
  }
  return dead;
}

OpRegistrar distributedOps({
    {"distInit", [](const Args& a) {
       init(a);
       return a.none();
     }},
    {"distAvailable", [](const Args& a) { return a.ret(true); }},
    // Whether `--backend nccl` can work in this build (a GPU is needed as well).
    {"distNcclAvailable", [](const Args& a) {
#ifdef USE_C10D_NCCL
       return a.ret(true);
#else
       return a.ret(false);
#endif
     }},
    {"distAllReduce", [](const Args& a) {
       auto ts = collectiveTensors(a.tensors(0), "distAllReduce");
       c10d::AllreduceOptions o;
       o.reduceOp = reduceOp(a.s(1));
       wait(current().pg->allreduce(ts, o));
       return a.none();
     }},
    {"distAllReduceMean", [](const Args& a) {
       // Bucketed mean of many tensors (the gradients of a model), as DDP's reducer does it:
       // fewer, larger messages than one all-reduce per parameter.
       std::vector<at::Tensor> ts = a.tensors(0);
       const int64_t bucketBytes = std::max<int64_t>(a.i(1), 1);
       const auto t0 = std::chrono::steady_clock::now();
       Group& g = current();
       std::vector<std::vector<size_t>> buckets;
       int64_t bytes = bucketBytes;
       for (size_t i = 0; i < ts.size(); i++) {
         const auto& t = ts[i];
         const bool sameType = !buckets.empty() && ts[buckets.back().front()].scalar_type() == t.scalar_type();
         if (bytes + t.nbytes() > static_cast<size_t>(bucketBytes) || !sameType) {
           buckets.emplace_back();
           bytes = 0;
         }
         buckets.back().push_back(i);
         bytes += t.nbytes();
       }
       std::vector<at::Tensor> flats;
       std::vector<c10::intrusive_ptr<c10d::Work>> works;
       for (const auto& b : buckets) {
         std::vector<at::Tensor> parts;
         for (size_t i : b) parts.push_back(ts[i].reshape({-1}));
         std::vector<at::Tensor> flat{at::cat(parts)};
         works.push_back(g.pg->allreduce(flat));
         flats.push_back(flat[0]);
       }
       for (size_t k = 0; k < buckets.size(); k++) {
         wait(works[k]);
         std::vector<std::pair<at::Tensor, int64_t>> slots;
         for (size_t i : buckets[k]) slots.emplace_back(ts[i], ts[i].numel());
         writeMeans(flats[k], slots, g.world);
       }
       return a.ret(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
     }},
    {"distReducerCreate", [](const Args& a) {
       Group& g = current();
       auto r = Reducer::create(g.pg, g.world, g.timeout, a.tensors(0), std::max<int64_t>(a.i(1), 1));
       reducers[nextReducerId] = std::move(r);
       return a.ret(static_cast<double>(nextReducerId++));
     }},
    {"distReducerArm", [](const Args& a) {
       reducerOf(a.i(0)).arm();
       return a.none();
     }},
    {"distReducerFinish", [](const Args& a) { return reducerOf(a.i(0)).finish(a); }},
    {"distReducerDestroy", [](const Args& a) {
       reducers.erase(a.i(0));
       return a.none();
     }},
    {"distBroadcast", [](const Args& a) {
       auto ts = collectiveTensors(a.tensors(0), "distBroadcast");
       c10d::BroadcastOptions o;
       o.rootRank = a.i(1);
       for (auto& t : ts) {  // one tensor per call: gloo broadcasts a single tensor per work
         std::vector<at::Tensor> one{t};
         wait(current().pg->broadcast(one, o));
       }
       return a.none();
     }},
    {"distAllGather", [](const Args& a) {
       at::Tensor t = a.t(0).contiguous();
       Group& g = current();
       std::vector<at::Tensor> outs;
       for (int r = 0; r < g.world; r++) outs.push_back(at::empty_like(t));
       std::vector<std::vector<at::Tensor>> out{outs};
       std::vector<at::Tensor> in{t};
       wait(g.pg->allgather(out, in));
       return a.ret(at::stack(out[0]));
     }},
    {"distBarrier", [](const Args& a) {
       wait(current().pg->barrier());
       return a.none();
     }},
    {"distDeadRanks", [](const Args& a) {
       auto dead = deadRanks(a.i(0));
       auto arr = Napi::Array::New(a.env, dead.size());
       for (size_t i = 0; i < dead.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(a.env, static_cast<double>(dead[i])));
       return static_cast<Napi::Value>(arr);
     }},
    {"distDestroy", [](const Args& a) {
       reducers.clear();
       if (group) {
         group->heartbeat.reset();
         group->pg.reset();
         group->store.reset();
         delete group;
         group = nullptr;
       }
       return a.none();
     }},
    {"distParentDeathSignal", [](const Args& a) {
       TORCH_CHECK(prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(a.i(0))) == 0, "prctl(PR_SET_PDEATHSIG) failed");
       return a.none();
     }},
});
#else
// Built without gloo headers (config.mjs found no <gloo/algorithm.h>): every collective reports
// how to get them.
Napi::Value unavailable(const Args&) {
  TORCH_CHECK(false,
              "this build of the addon has no c10d/gloo support: install libgloo-dev (Debian) or use a "
              "LIBTORCH whose include/ has gloo/, then rebuild with `node scripts/build-native.mjs --force`");
}
OpRegistrar distributedOps({
    {"distInit", unavailable},
    {"distAvailable", [](const Args& a) { return a.ret(false); }},
    {"distNcclAvailable", [](const Args& a) { return a.ret(false); }},
    {"distAllReduce", unavailable},
    {"distAllReduceMean", unavailable},
    {"distReducerCreate", unavailable},
    {"distReducerArm", unavailable},
    {"distReducerFinish", unavailable},
    {"distReducerDestroy", [](const Args& a) { return a.none(); }},
    {"distBroadcast", unavailable},
    {"distAllGather", unavailable},
    {"distBarrier", unavailable},
    {"distDeadRanks", unavailable},
    {"distDestroy", [](const Args& a) { return a.none(); }},
    {"distParentDeathSignal", unavailable},
});
#endif

}  // namespace
}  // namespace vm
