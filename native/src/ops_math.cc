// Op table, part 2: elementwise and broadcast math, comparisons, reductions, linear algebra.
#include "args.h"

namespace vm {
namespace {

using Unary = at::Tensor (*)(const at::Tensor&);

// Binary ops take (tensor, tensor|number); numbers are wrapped as 0-d tensors, which PyTorch's
// type promotion treats like Python scalars (they do not upcast the tensor's dtype).
#define BINARY(name, fn) {name, [](const Args& a) { return a.ret(fn(a.t(0), a.tensorOrScalar(1))); }}
// Same, for ops with a (Tensor, Scalar) overload: numbers skip the 0-d tensor allocation.
#define BINARY_S(name, fn)                                                           \
  {                                                                                  \
    name, [](const Args& a) {                                                        \
      if (a.isTensor(1)) return a.ret(fn(a.t(0), a.t(1)));                           \
      return a.ret(fn(a.t(0), a.scalar(1)));                                         \
    }                                                                                \
  }
#define UNARY(name, fn) {name, [](const Args& a) { return a.ret(fn(a.t(0))); }}

OpRegistrar elementwise({
    // add(a, b, alpha?) = a + alpha * b
    {"add", [](const Args& a) {
       const at::Scalar alpha = a.has(2) ? a.scalar(2) : at::Scalar(1);
       return a.ret(a.isTensor(1) ? at::add(a.t(0), a.t(1), alpha) : at::add(a.t(0), a.scalar(1), alpha));
     }},
    {"sub", [](const Args& a) {
       const at::Scalar alpha = a.has(2) ? a.scalar(2) : at::Scalar(1);
       return a.ret(a.isTensor(1) ? at::sub(a.t(0), a.t(1), alpha) : at::sub(a.t(0), a.scalar(1), alpha));
     }},
    // rsub(a, b) = b - a, for `number - tensor`
    {"rsub", [](const Args& a) { return a.ret(at::sub(a.tensorOrScalar(1), a.t(0))); }},
    BINARY_S("mul", at::mul),
    BINARY_S("div", at::div),
    {"rdiv", [](const Args& a) { return a.ret(at::div(a.tensorOrScalar(1), a.t(0))); }},
    BINARY_S("pow", at::pow),
    BINARY("maximum", at::maximum),
    BINARY("minimum", at::minimum),
    BINARY_S("remainder", at::remainder),
    {"floorDivide", [](const Args& a) { return a.ret(at::div(a.t(0), a.tensorOrScalar(1), "floor")); }},
    BINARY("atan2", at::atan2),
    UNARY("neg", at::neg),
    UNARY("exp", at::exp),
    UNARY("log", at::log),
    UNARY("log1p", at::log1p),
    UNARY("sqrt", at::sqrt),
    UNARY("rsqrt", at::rsqrt),
    UNARY("abs", at::abs),
    UNARY("sin", at::sin),
    UNARY("cos", at::cos),
    UNARY("tanh", at::tanh),
    UNARY("sigmoid", at::sigmoid),
    UNARY("relu", at::relu),
    UNARY("erf", at::erf),
    UNARY("erfinv", at::erfinv),
    UNARY("reciprocal", at::reciprocal),
    UNARY("sign", at::sign),
    UNARY("floor", at::floor),
    UNARY("ceil", at::ceil),
    UNARY("round", at::round),
    UNARY("square", at::square),
    // gelu(x, approximate?): exact erf GELU unless "tanh"
    {"gelu", [](const Args& a) { return a.ret(at::gelu(a.t(0), a.has(1) ? a.s(1) : "none")); }},
    {"clamp", [](const Args& a) {
       return a.ret(at::clamp(a.t(0), a.has(1) ? c10::optional<at::Scalar>(a.scalar(1)) : c10::nullopt,
                              a.has(2) ? c10::optional<at::Scalar>(a.scalar(2)) : c10::nullopt));
     }},
    // lerp(a, b, weight)
    {"lerp", [](const Args& a) { return a.ret(at::lerp(a.t(0), a.t(1), a.scalar(2))); }},
    // where(cond, a, b): a and b may be numbers
    {"where", [](const Args& a) { return a.ret(at::where(a.t(0), a.tensorOrScalar(1), a.tensorOrScalar(2))); }},
});

OpRegistrar comparisons({
    BINARY_S("eq", at::eq),
    BINARY_S("ne", at::ne),
    BINARY_S("lt", at::lt),
    BINARY_S("le", at::le),
    BINARY_S("gt", at::gt),
    BINARY_S("ge", at::ge),
    BINARY("logicalAnd", at::logical_and),
    BINARY("logicalOr", at::logical_or),
    BINARY("logicalXor", at::logical_xor),
    UNARY("logicalNot", at::logical_not),
    UNARY("isnan", at::isnan),
    UNARY("isfinite", at::isfinite),
    {"allclose", [](const Args& a) { return a.ret(at::allclose(a.t(0), a.t(1), a.d(2), a.d(3))); }},
    {"equal", [](const Args& a) { return a.ret(at::equal(a.t(0), a.t(1))); }},
});

// Reductions take (t, dims?, keepdim?). Without dims they reduce over everything.
at::OptionalIntArrayRef dimsOf(const Args& a, size_t i, std::vector<int64_t>& store) {
  if (!a.has(i)) return c10::nullopt;
  store = a.ints(i);
  return at::IntArrayRef(store);
}

OpRegistrar reductions({
    // sum(t, dims?, keepdim?, dtype?)
    {"sum", [](const Args& a) {
       std::vector<int64_t> d;
       auto dims = dimsOf(a, 1, d);
       if (!dims) return a.ret(at::sum(a.t(0), a.optDtype(3)));
       return a.ret(at::sum(a.t(0), dims, a.b(2), a.optDtype(3)));
     }},
    {"mean", [](const Args& a) {
       std::vector<int64_t> d;
       auto dims = dimsOf(a, 1, d);
       if (!dims) return a.ret(at::mean(a.t(0), a.optDtype(3)));
       return a.ret(at::mean(a.t(0), dims, a.b(2), a.optDtype(3)));
     }},
    // var(t, dims?, unbiased, keepdim) / std(...)
    {"var", [](const Args& a) {
       std::vector<int64_t> d;
       return a.ret(at::var(a.t(0), dimsOf(a, 1, d), a.b(2, true), a.b(3)));
     }},
    {"std", [](const Args& a) {
       std::vector<int64_t> d;
       return a.ret(at::std(a.t(0), dimsOf(a, 1, d), a.b(2, true), a.b(3)));
     }},
    {"prod", [](const Args& a) {
       if (!a.has(1)) return a.ret(at::prod(a.t(0)));
       return a.ret(at::prod(a.t(0), a.i(1), a.b(2)));
     }},
    // max(t) -> scalar tensor; maxDim(t, dim, keepdim) -> [values, indices]
    UNARY("max", at::max),
    UNARY("min", at::min),
    {"maxDim", [](const Args& a) { return a.ret(at::max(a.t(0), a.i(1), a.b(2))); }},
    {"minDim", [](const Args& a) { return a.ret(at::min(a.t(0), a.i(1), a.b(2))); }},
    {"argmax", [](const Args& a) { return a.ret(at::argmax(a.t(0), a.optI(1), a.b(2))); }},
    {"argmin", [](const Args& a) { return a.ret(at::argmin(a.t(0), a.optI(1), a.b(2))); }},
    // topk(t, k, dim, largest, sorted) -> [values, indices]
    {"topk", [](const Args& a) { return a.ret(at::topk(a.t(0), a.i(1), a.has(2) ? a.i(2) : -1, a.b(3, true), a.b(4, true))); }},
    // sort(t, dim, descending) -> [values, indices]
    {"sort", [](const Args& a) { return a.ret(at::sort(a.t(0), a.has(1) ? a.i(1) : -1, a.b(2))); }},
    {"argsort", [](const Args& a) { return a.ret(at::argsort(a.t(0), a.has(1) ? a.i(1) : -1, a.b(2))); }},
    {"softmax", [](const Args& a) { return a.ret(at::softmax(a.t(0), a.i(1), a.optDtype(2))); }},
    {"logSoftmax", [](const Args& a) { return a.ret(at::log_softmax(a.t(0), a.i(1), a.optDtype(2))); }},
    {"logsumexp", [](const Args& a) { return a.ret(at::logsumexp(a.t(0), a.ints(1), a.b(2))); }},
    {"cumsum", [](const Args& a) { return a.ret(at::cumsum(a.t(0), a.i(1))); }},
    // norm(t, p, dims?, keepdim?)
    {"norm", [](const Args& a) {
       std::vector<int64_t> d;
       if (!a.has(2)) return a.ret(at::norm(a.t(0), a.scalar(1)));
       d = a.ints(2);
       return a.ret(at::norm(a.t(0), a.scalar(1), d, a.b(3)));
     }},
    UNARY("any", at::any),
    UNARY("all", at::all),
    {"countNonzero", [](const Args& a) { return a.ret(at::count_nonzero(a.t(0))); }},
});

OpRegistrar linalg({
    {"matmul", [](const Args& a) { return a.ret(at::matmul(a.t(0), a.t(1))); }},
    {"mm", [](const Args& a) { return a.ret(at::mm(a.t(0), a.t(1))); }},
    {"bmm", [](const Args& a) { return a.ret(at::bmm(a.t(0), a.t(1))); }},
    // linear(x, weight[out,in], bias?)
    {"linear", [](const Args& a) { return a.ret(at::linear(a.t(0), a.t(1), a.optT(2))); }},
    // addmm(bias, m1, m2, beta, alpha) = beta*bias + alpha*(m1 @ m2)
    {"addmm", [](const Args& a) {
       return a.ret(at::addmm(a.t(0), a.t(1), a.t(2), a.has(3) ? a.scalar(3) : at::Scalar(1), a.has(4) ? a.scalar(4) : at::Scalar(1)));
     }},
    {"baddbmm", [](const Args& a) {
       return a.ret(at::baddbmm(a.t(0), a.t(1), a.t(2), a.has(3) ? a.scalar(3) : at::Scalar(1), a.has(4) ? a.scalar(4) : at::Scalar(1)));
     }},
    {"einsum", [](const Args& a) { return a.ret(at::einsum(a.s(0), a.tensors(1))); }},
    {"outer", [](const Args& a) { return a.ret(at::outer(a.t(0), a.t(1))); }},
});

#undef BINARY
#undef BINARY_S
#undef UNARY

}  // namespace
}  // namespace vm
