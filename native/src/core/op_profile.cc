// Op table: an op-level profiler for `videomae bench --profile`. libtorch's RecordFunction
// callbacks see every dispatched ATen op and every autograd node as it runs backward, which the
// module-level timing in TypeScript cannot split. A global callback pair times each one on the
// thread that runs it and keeps, per name, the calls, the inclusive time and the self time
// (inclusive minus the ops nested inside it on the same thread).
//
// The RecordFunction callback API (ATen/record_function.h) is the same in libtorch 1.13 and 2.x,
// unlike the profiler front ends built on it.
#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../args.h"

namespace vm {
namespace {

using Clock = std::chrono::steady_clock;

struct OpStat {
  int64_t calls = 0;
  double totalUs = 0, selfUs = 0;
};

struct Frame {
  Clock::time_point start;
  double childUs = 0;
};

std::mutex statsMutex;
std::unordered_map<std::string, OpStat> stats;
at::CallbackHandle handle = 0;
thread_local std::vector<Frame> openOps;

std::unique_ptr<at::ObserverContext> onEnter(const at::RecordFunction&) {
  openOps.push_back({Clock::now(), 0});
  return nullptr;
}

void onExit(const at::RecordFunction& fn, at::ObserverContext*) {
  if (openOps.empty()) return;  // entered before the profiler started
  const Frame f = openOps.back();
  openOps.pop_back();
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - f.start).count();
  if (!openOps.empty()) openOps.back().childUs += us;
  std::lock_guard<std::mutex> lock(statsMutex);
  OpStat& s = stats[fn.name()];
  s.calls++;
  s.totalUs += us;
  s.selfUs += us - f.childUs;
}

OpRegistrar opProfileOps({
    // opProfileStart(): starts timing every ATen op and autograd node (clears earlier counts)
    {"opProfileStart", [](const Args& a) -> Napi::Value {
       if (handle == 0) {
         {
           std::lock_guard<std::mutex> lock(statsMutex);
           stats.clear();
         }
         openOps.clear();
         handle = at::addGlobalCallback(
             at::RecordFunctionCallback(onEnter, onExit).scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
       }
       return a.env.Undefined();
     }},
    // opProfileStop() -> [{name, calls, totalMs, selfMs}] since opProfileStart, by self time
    {"opProfileStop", [](const Args& a) -> Napi::Value {
       if (handle != 0) {
         at::removeCallback(handle);
         handle = 0;
       }
       std::vector<std::pair<std::string, OpStat>> rows;
       {
         std::lock_guard<std::mutex> lock(statsMutex);
         rows.assign(stats.begin(), stats.end());
         stats.clear();
       }
       openOps.clear();
       std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.second.selfUs > y.second.selfUs; });
       auto out = Napi::Array::New(a.env, rows.size());
       for (size_t i = 0; i < rows.size(); i++) {
         auto o = Napi::Object::New(a.env);
         o.Set("name", rows[i].first);
         o.Set("calls", static_cast<double>(rows[i].second.calls));
         o.Set("totalMs", rows[i].second.totalUs / 1000);
         o.Set("selfMs", rows[i].second.selfUs / 1000);
         out.Set(i, o);
       }
       return out;
     }},
});

}  // namespace
}  // namespace vm
