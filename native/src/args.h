// Marshalling between N-API values and ATen values, shared by every op table.
//
// A tensor crosses into JavaScript as a type-tagged napi External holding a TensorBox. The box
// owns one at::Tensor reference; disposing it from JS drops that reference at once (the External
// itself is collected later by V8 and then only frees the empty box).
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <functional>
#include <string>
#include <vector>

namespace vm {

struct TensorBox {
  at::Tensor t;
  int64_t accounted = 0;  // bytes reported to V8 as external memory
};

// Dtype codes shared with src/torch/dtype.ts (keep in sync).
at::ScalarType dtypeFromCode(int32_t code);
int32_t codeFromDtype(at::ScalarType t);

Napi::Value wrapTensor(Napi::Env env, at::Tensor t);
bool isTensor(Napi::Env env, const Napi::Value& v);
TensorBox* unwrapBox(Napi::Env env, const Napi::Value& v, const char* what);
at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& v, const char* what);
void disposeBox(Napi::BasicEnv env, TensorBox* box);

bool isGenerator(Napi::Env env, const Napi::Value& v);
Napi::Value wrapGenerator(Napi::Env env, at::Generator g);
at::Generator& unwrapGenerator(Napi::Env env, const Napi::Value& v);

// Positional accessors for one op call. Index 0 is the op's first argument.
class Args {
 public:
  Args(const Napi::CallbackInfo& info) : info_(info), env(info.Env()) {}
  size_t size() const { return info_.Length(); }
  bool has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }
  bool isTensor(size_t i) const { return i < info_.Length() && vm::isTensor(env, info_[i]); }
  at::Tensor& t(size_t i) const;
  c10::optional<at::Tensor> optT(size_t i) const;
  std::vector<at::Tensor> tensors(size_t i) const;
  int64_t i(size_t i) const;
  c10::optional<int64_t> optI(size_t i) const;
  double d(size_t i) const;
  c10::optional<double> optD(size_t i) const;
  bool b(size_t i, bool dflt = false) const;
  std::string s(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;
  at::Scalar scalar(size_t i) const;
  at::ScalarType dtype(size_t i) const;
  c10::optional<at::ScalarType> optDtype(size_t i) const;
  c10::optional<at::Generator> gen(size_t i) const;
  // The tensor-or-number argument of binary ops: numbers become 0-d tensors of a's dtype class.
  at::Tensor tensorOrScalar(size_t i) const;
  const Napi::Value operator[](size_t i) const { return info_[i]; }

  Napi::Value ret(const at::Tensor& t) const { return wrapTensor(env, t); }
  Napi::Value ret(const std::vector<at::Tensor>& ts) const;
  Napi::Value ret(const std::tuple<at::Tensor, at::Tensor>& tt) const;
  Napi::Value ret(double v) const { return Napi::Number::New(env, v); }
  Napi::Value ret(bool v) const { return Napi::Boolean::New(env, v); }
  Napi::Value none() const { return env.Undefined(); }

  // "[2,3]:float" for every tensor argument; used in error messages.
  std::string describe() const;

 private:
  const Napi::CallbackInfo& info_;

 public:
  Napi::Env env;
};

// The op tables: each op is a name and a function from arguments to a JS value. Translation
// units add their ops with a static OpRegistrar; addon.cc exports them all as functions of
// `ops`, each wrapped so that any C++ exception becomes a JS Error naming the op and shapes.
using OpFn = std::function<Napi::Value(const Args&)>;
struct OpDef {
  std::string name;
  OpFn fn;
};
std::vector<OpDef>& opRegistry();
struct OpRegistrar {
  OpRegistrar(std::initializer_list<OpDef> defs) {
    for (auto& d : defs) opRegistry().push_back(d);
  }
};

std::string shapeString(const at::Tensor& t);

// "cpu" | "cuda" | "cuda:N" → a device this process can use (core/device.cc), else an error
// saying why not (no GPU visible, libtorch without CUDA, index out of range).
c10::Device parseDevice(const std::string& s);

// Our hand-written kernels read raw host pointers: a tensor on another device is an error that
// names the op (never a silent copy to the CPU).
inline void requireCpu(const at::Tensor& t, const char* op) {
  TORCH_CHECK(t.is_cpu(), op, " is a CPU kernel but got a tensor on ", t.device().str(),
              "; on a GPU the caller must use the ATen path (see src/torch for the per-device dispatch)");
}

}  // namespace vm
