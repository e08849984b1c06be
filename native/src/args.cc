#include "args.h"

#include <sstream>

namespace vm {

// Random 128-bit tags so that a Generator can never be mistaken for a tensor (or any other
// External from another addon), which would otherwise crash the process.
static const napi_type_tag kTensorTag = {0x5f1d3a2b9c8e4d71ULL, 0xa3b6c9d2e5f80147ULL};
static const napi_type_tag kGeneratorTag = {0x7c2e9a4b1d3f5e60ULL, 0x94b8d1c6e2a7f305ULL};

at::ScalarType dtypeFromCode(int32_t code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kHalf;
    case 2: return at::kBFloat16;
    case 3: return at::kLong;
    case 4: return at::kInt;
    case 5: return at::kByte;
    case 6: return at::kBool;
    case 7: return at::kDouble;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int32_t codeFromDtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return 0;
    case at::kHalf: return 1;
    case at::kBFloat16: return 2;
    case at::kLong: return 3;
    case at::kInt: return 4;
    case at::kByte: return 5;
    case at::kBool: return 6;
    case at::kDouble: return 7;
    default: break;
  }
  throw std::invalid_argument(std::string("dtype not supported in JS: ") + c10::toString(t));
}

static bool hasTag(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag) {
  if (!v.IsExternal()) return false;
  bool ok = false;
  napi_check_object_type_tag(env, v, &tag, &ok);
  return ok;
}

// Bytes owned by this tensor: views share their base's storage and are not counted again.
static int64_t ownedBytes(const at::Tensor& t) {
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  auto* box = new TensorBox{std::move(t), 0};
  box->accounted = ownedBytes(box->t);
  if (box->accounted) Napi::MemoryManagement::AdjustExternalMemory(env, box->accounted);
  // A basic (GC-time) finalizer: it runs synchronously when V8 collects the handle, so memory
  // of forgotten tensors comes back even inside a long synchronous loop (ordinary finalizers
  // are deferred to the event loop). It only drops a C++ reference and adjusts the counter.
  auto ext = Napi::External<TensorBox>::New(env, box, [](Napi::BasicEnv env, TensorBox* b) {
    disposeBox(env, b);
    delete b;
  });
  napi_type_tag_object(env, ext, &kTensorTag);
  return ext;
}

void disposeBox(Napi::BasicEnv env, TensorBox* box) {
  if (box->accounted) Napi::MemoryManagement::AdjustExternalMemory(env, -box->accounted);
  box->accounted = 0;
  box->t = at::Tensor();
}

bool isTensor(Napi::Env env, const Napi::Value& v) { return hasTag(env, v, kTensorTag); }

TensorBox* unwrapBox(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!hasTag(env, v, kTensorTag)) throw std::invalid_argument(std::string(what) + " is not a tensor");
  return v.As<Napi::External<TensorBox>>().Data();
}

at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& v, const char* what) {
  auto* box = unwrapBox(env, v, what);
  if (!box->t.defined()) throw std::invalid_argument(std::string(what) + " was disposed (used after dispose(), or after the tidy() scope that made it ended)");
  return box->t;
}

bool isGenerator(Napi::Env env, const Napi::Value& v) { return hasTag(env, v, kGeneratorTag); }

Napi::Value wrapGenerator(Napi::Env env, at::Generator g) {
  auto ext = Napi::External<at::Generator>::New(env, new at::Generator(std::move(g)),
                                                [](Napi::BasicEnv, at::Generator* p) { delete p; });
  napi_type_tag_object(env, ext, &kGeneratorTag);
  return ext;
}

at::Generator& unwrapGenerator(Napi::Env env, const Napi::Value& v) {
  if (!hasTag(env, v, kGeneratorTag)) throw std::invalid_argument("argument is not a Generator");
  return *v.As<Napi::External<at::Generator>>().Data();
}

static std::string argName(size_t i) { return "argument " + std::to_string(i); }

at::Tensor& Args::t(size_t i) const {
  if (i >= size()) throw std::invalid_argument(argName(i) + " (a tensor) is missing");
  return unwrapTensor(env, info_[i], argName(i).c_str());
}

c10::optional<at::Tensor> Args::optT(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return t(i);
}

std::vector<at::Tensor> Args::tensors(size_t i) const {
  if (!has(i) || !info_[i].IsArray()) throw std::invalid_argument(argName(i) + " must be an array of tensors");
  auto arr = info_[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    out.push_back(unwrapTensor(env, arr.Get(k), (argName(i) + "[" + std::to_string(k) + "]").c_str()));
  }
  return out;
}

int64_t Args::i(size_t i) const {
  if (!has(i) || !info_[i].IsNumber()) throw std::invalid_argument(argName(i) + " must be an integer");
  return info_[i].As<Napi::Number>().Int64Value();
}

c10::optional<int64_t> Args::optI(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return this->i(i);
}

double Args::d(size_t i) const {
  if (!has(i) || !info_[i].IsNumber()) throw std::invalid_argument(argName(i) + " must be a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> Args::optD(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return d(i);
}

bool Args::b(size_t i, bool dflt) const {
  if (!has(i)) return dflt;
  return info_[i].ToBoolean().Value();
}

std::string Args::s(size_t i) const {
  if (!has(i) || !info_[i].IsString()) throw std::invalid_argument(argName(i) + " must be a string");
  return info_[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> Args::ints(size_t i) const {
  if (has(i) && info_[i].IsNumber()) return {this->i(i)};
  if (!has(i) || !info_[i].IsArray()) throw std::invalid_argument(argName(i) + " must be an array of integers");
  auto arr = info_[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw std::invalid_argument(argName(i) + "[" + std::to_string(k) + "] must be an integer");
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

at::Scalar Args::scalar(size_t i) const {
  if (has(i) && info_[i].IsBoolean()) return at::Scalar(info_[i].As<Napi::Boolean>().Value());
  double v = d(i);
  // Integers stay integral so that integer tensors are not promoted to float.
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 9.007199254740992e15) {
    return at::Scalar(static_cast<int64_t>(v));
  }
  return at::Scalar(v);
}

at::ScalarType Args::dtype(size_t i) const { return dtypeFromCode(static_cast<int32_t>(this->i(i))); }

c10::optional<at::ScalarType> Args::optDtype(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return dtype(i);
}

c10::optional<at::Generator> Args::gen(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return unwrapGenerator(env, info_[i]);
}

at::Tensor Args::tensorOrScalar(size_t i) const {
  if (isTensor(i)) return t(i);
  at::Scalar v = scalar(i);
  auto dt = v.isBoolean() ? at::kBool : v.isIntegral(false) ? at::kLong : at::kDouble;
  at::Tensor w = at::scalar_tensor(v, at::TensorOptions().dtype(dt));
  // Mark it as a "wrapped number" so type promotion treats it like a Python scalar
  // (int tensor * 0.5 -> float32, float16 tensor + 1.0 -> float16), exactly as PyTorch does.
  w.unsafeGetTensorImpl()->set_wrapped_number(true);
  return w;
}

Napi::Value Args::ret(const std::vector<at::Tensor>& ts) const {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); k++) arr.Set(static_cast<uint32_t>(k), wrapTensor(env, ts[k]));
  return arr;
}

Napi::Value Args::ret(const std::tuple<at::Tensor, at::Tensor>& tt) const {
  return ret(std::vector<at::Tensor>{std::get<0>(tt), std::get<1>(tt)});
}

std::string shapeString(const at::Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < t.dim(); d++) os << (d ? "," : "") << t.size(d);
  os << "]:" << c10::toString(t.scalar_type());
  return os.str();
}

std::string Args::describe() const {
  std::ostringstream os;
  for (size_t k = 0; k < size(); k++) {
    if (k) os << ", ";
    Napi::Value v = info_[k];
    if (vm::isTensor(env, v)) {
      auto* box = v.As<Napi::External<TensorBox>>().Data();
      os << (box->t.defined() ? shapeString(box->t) : std::string("<disposed>"));
    } else if (v.IsNumber()) {
      os << v.As<Napi::Number>().DoubleValue();
    } else if (v.IsArray()) {
      os << "[...]";
    } else if (v.IsString()) {
      os << '"' << v.As<Napi::String>().Utf8Value() << '"';
    } else if (v.IsBoolean()) {
      os << (v.As<Napi::Boolean>().Value() ? "true" : "false");
    } else {
      os << "_";
    }
  }
  return os.str();
}

std::vector<OpDef>& opRegistry() {
  static std::vector<OpDef> reg;
  return reg;
}

}  // namespace vm
