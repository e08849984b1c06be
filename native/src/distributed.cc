// Op table, part 5: data-parallel collectives over libtorch's c10d (the engine behind
// torch.distributed). One process group per process, like torch.distributed's default group:
//
//   distInit(masterAddr, masterPort, rank, worldSize, timeoutMs, ifname)   TCPStore rendezvous
//       (rank 0 hosts the store) + ProcessGroupGloo for CPU tensors
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
// Every collective blocks the calling (JS) thread until it completes or the group's timeout
// passes; gloo raises at once when a peer's connection closes (the peer died). A background
// thread writes a heartbeat key every second through its own store connection, so after a
// failure the survivors can name the rank that died or hung (distDeadRanks).
//
// NCCL is not compiled in: this addon's tensors are CPU tensors (no CUDA device support yet), and
// NCCL only moves CUDA tensors. With a CUDA libtorch this is where ProcessGroupNCCL would go.
#include "args.h"
#include "compat.h"

#ifdef USE_C10D_GLOO
#include <sys/prctl.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
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
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::unique_ptr<Heartbeat> heartbeat;
};

// Deliberately leaked unless distDestroy() runs: destroying a gloo group at process exit can
// block on peers that are already gone.
Group* group = nullptr;

Group& current() {
  TORCH_CHECK(group != nullptr, "no process group: call initDistributed() first");
  return *group;
}

std::vector<at::Tensor> contiguousCpu(const std::vector<at::Tensor>& ts, const char* what) {
  for (const auto& t : ts) {
    TORCH_CHECK(t.device().is_cpu(), what, ": gloo collectives need CPU tensors, got ", t.device());
    TORCH_CHECK(t.is_contiguous(), what, ": tensors must be contiguous (", shapeString(t), ")");
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
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  opts->devices.push_back(device(addr, ifname));
  opts->threads = 2;
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("videomae/gloo", g->store);
  g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, g->rank, g->world, opts);
  g->heartbeat = std::make_unique<Heartbeat>(addr, static_cast<uint16_t>(port), g->rank, timeout);
  group = g.release();
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
    {"distAllReduce", [](const Args& a) {
       auto ts = contiguousCpu(a.tensors(0), "distAllReduce");
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
         TORCH_CHECK(t.device().is_cpu(), "distAllReduceMean: CPU tensors only");
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
         flats[k].div_(static_cast<double>(g.world));
         int64_t off = 0;
         for (size_t i : buckets[k]) {
           const int64_t n = ts[i].numel();
           ts[i].copy_(flats[k].narrow(0, off, n).view(ts[i].sizes()));
           off += n;
         }
       }
       return a.ret(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
     }},
    {"distBroadcast", [](const Args& a) {
       auto ts = contiguousCpu(a.tensors(0), "distBroadcast");
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
    {"distAllReduce", unavailable},
    {"distAllReduceMean", unavailable},
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
