// Op table, part 1: creation, views, indexing, joining, casts, autograd and in-place updates.
// Argument order follows the TypeScript wrappers in src/torch/tensor.ts.
#include <torch/csrc/autograd/function.h>

#include "args.h"

namespace vm {
namespace {

// Options of a new tensor: dtype at argument `i` (float32 when absent), device at `dev` (cpu when
// absent; "cuda", "cuda:1", checked by parseDevice).
at::TensorOptions opts(const Args& a, size_t i, size_t dev, at::ScalarType dflt = at::kFloat) {
  auto o = at::TensorOptions().dtype(a.has(i) ? a.dtype(i) : dflt);
  return a.has(dev) ? o.device(parseDevice(a.s(dev))) : o;
}

// The index list of t[i0, i1, ...]: a JS array of tensors, with null/undefined for ':'.
c10::List<c10::optional<at::Tensor>> indexList(const Args& a, size_t i) {
  if (!a.has(i) || !a[i].IsArray()) throw std::invalid_argument("argument " + std::to_string(i) + " must be an array of index tensors");
  auto arr = a[i].As<Napi::Array>();
  c10::List<c10::optional<at::Tensor>> idx;
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (v.IsNull() || v.IsUndefined()) idx.push_back(c10::nullopt);
    else idx.push_back(unwrapTensor(a.env, v, "index"));
  }
  return idx;
}

at::Tensor onesLike(const at::Tensor& t) { return at::ones_like(t); }

OpRegistrar creation({
    // zeros(shape, dtype?, device?) and friends
    {"zeros", [](const Args& a) { return a.ret(at::zeros(a.ints(0), opts(a, 1, 2))); }},
    {"ones", [](const Args& a) { return a.ret(at::ones(a.ints(0), opts(a, 1, 2))); }},
    {"empty", [](const Args& a) { return a.ret(at::empty(a.ints(0), opts(a, 1, 2))); }},
    {"full", [](const Args& a) { return a.ret(at::full(a.ints(0), a.scalar(1), opts(a, 2, 3))); }},
    {"eye", [](const Args& a) { return a.ret(at::eye(a.i(0), opts(a, 1, 2))); }},
    // arange(start, end, step, dtype?, device?)
    {"arange", [](const Args& a) { return a.ret(at::arange(a.scalar(0), a.scalar(1), a.scalar(2), opts(a, 3, 4))); }},
    // linspace(start, end, steps, dtype?, device?)
    {"linspace", [](const Args& a) { return a.ret(at::linspace(a.scalar(0), a.scalar(1), a.i(2), opts(a, 3, 4))); }},
    // randn(shape, dtype?, generator?, device?)
    {"randn", [](const Args& a) { return a.ret(at::randn(a.ints(0), a.gen(2), opts(a, 1, 3))); }},
    {"rand", [](const Args& a) { return a.ret(at::rand(a.ints(0), a.gen(2), opts(a, 1, 3))); }},
    // randint(low, high, shape, dtype?, generator?, device?)
    {"randint", [](const Args& a) {
       return a.ret(at::randint(a.i(0), a.i(1), a.ints(2), a.gen(4), opts(a, 3, 5, at::kLong)));
     }},
    // randperm(n, generator?, device?)
    {"randperm", [](const Args& a) { return a.ret(at::randperm(a.i(0), a.gen(1), at::TensorOptions().dtype(at::kLong).device(a.has(2) ? parseDevice(a.s(2)) : c10::Device(c10::kCPU)))); }},
    {"zerosLike", [](const Args& a) { return a.ret(at::zeros_like(a.t(0))); }},
    {"onesLike", [](const Args& a) { return a.ret(onesLike(a.t(0))); }},
    {"fullLike", [](const Args& a) { return a.ret(at::full_like(a.t(0), a.scalar(1))); }},
    {"bernoulli", [](const Args& a) { return a.ret(at::bernoulli(a.t(0), a.d(1), a.gen(2))); }},
});

OpRegistrar views({
    {"reshape", [](const Args& a) { return a.ret(a.t(0).reshape(a.ints(1))); }},
    {"view", [](const Args& a) { return a.ret(a.t(0).view(a.ints(1))); }},
    {"permute", [](const Args& a) { return a.ret(a.t(0).permute(a.ints(1))); }},
    {"transpose", [](const Args& a) { return a.ret(a.t(0).transpose(a.i(1), a.i(2))); }},
    // slice(t, dim, start, end, step)
    {"slice", [](const Args& a) { return a.ret(a.t(0).slice(a.i(1), a.optI(2), a.optI(3), a.has(4) ? a.i(4) : 1)); }},
    {"narrow", [](const Args& a) { return a.ret(a.t(0).narrow(a.i(1), a.i(2), a.i(3))); }},
    {"select", [](const Args& a) { return a.ret(a.t(0).select(a.i(1), a.i(2))); }},
    {"expand", [](const Args& a) { return a.ret(a.t(0).expand(a.ints(1))); }},
    {"contiguous", [](const Args& a) { return a.ret(a.t(0).contiguous()); }},
    {"clone", [](const Args& a) { return a.ret(a.t(0).clone()); }},
    {"flatten", [](const Args& a) { return a.ret(a.t(0).flatten(a.i(1), a.i(2))); }},
    {"unsqueeze", [](const Args& a) { return a.ret(a.t(0).unsqueeze(a.i(1))); }},
    {"squeeze", [](const Args& a) { return a.ret(a.has(1) ? a.t(0).squeeze(a.i(1)) : a.t(0).squeeze()); }},
    {"repeat", [](const Args& a) { return a.ret(a.t(0).repeat(a.ints(1))); }},
    {"flip", [](const Args& a) { return a.ret(a.t(0).flip(a.ints(1))); }},
    {"roll", [](const Args& a) { return a.ret(a.t(0).roll(a.ints(1), a.ints(2))); }},
});

OpRegistrar indexing({
    {"indexSelect", [](const Args& a) { return a.ret(a.t(0).index_select(a.i(1), a.t(2))); }},
    {"gather", [](const Args& a) { return a.ret(a.t(0).gather(a.i(1), a.t(2))); }},
    // scatter(t, dim, index, src)
    {"scatter", [](const Args& a) { return a.ret(a.t(0).scatter(a.i(1), a.t(2), a.t(3))); }},
    {"scatterAdd", [](const Args& a) { return a.ret(a.t(0).scatter_add(a.i(1), a.t(2), a.t(3))); }},
    {"maskedSelect", [](const Args& a) { return a.ret(a.t(0).masked_select(a.t(1))); }},
    {"maskedFill", [](const Args& a) { return a.ret(a.t(0).masked_fill(a.t(1), a.scalar(2))); }},
    // index(t, [idx0?, idx1?, ...]): PyTorch's t[idx0, idx1, ...] with long or bool indices;
    // null entries stand for ':'.
    {"index", [](const Args& a) { return a.ret(at::index(a.t(0), indexList(a, 1))); }},
    // indexPut(t, [idx...], values, accumulate): out-of-place t[idx] = values
    {"indexPut", [](const Args& a) { return a.ret(at::index_put(a.t(0), indexList(a, 1), a.t(2), a.b(3))); }},
    {"nonzero", [](const Args& a) { return a.ret(a.t(0).nonzero()); }},
    {"cat", [](const Args& a) { return a.ret(at::cat(a.tensors(0), a.i(1))); }},
    {"stack", [](const Args& a) { return a.ret(at::stack(a.tensors(0), a.i(1))); }},
    // split(t, sizeOrSizes, dim)
    {"split", [](const Args& a) {
       if (a[1].IsNumber()) return a.ret(a.t(0).split(a.i(1), a.i(2)));
       return a.ret(a.t(0).split_with_sizes(a.ints(1), a.i(2)));
     }},
    {"chunk", [](const Args& a) { return a.ret(a.t(0).chunk(a.i(1), a.i(2))); }},
    {"tril", [](const Args& a) { return a.ret(a.t(0).tril(a.has(1) ? a.i(1) : 0)); }},
});

OpRegistrar casts({
    {"to", [](const Args& a) { return a.ret(a.t(0).to(a.dtype(1))); }},
    {"dtype", [](const Args& a) { return Napi::Number::New(a.env, codeFromDtype(a.t(0).scalar_type())); }},
    {"shape", [](const Args& a) {
       const auto& t = a.t(0);
       auto arr = Napi::Array::New(a.env, t.dim());
       for (int64_t d = 0; d < t.dim(); d++) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(a.env, static_cast<double>(t.size(d))));
       return arr;
     }},
    {"strides", [](const Args& a) {
       const auto& t = a.t(0);
       auto arr = Napi::Array::New(a.env, t.dim());
       for (int64_t d = 0; d < t.dim(); d++) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(a.env, static_cast<double>(t.stride(d))));
       return arr;
     }},
    {"isContiguous", [](const Args& a) { return a.ret(a.t(0).is_contiguous()); }},
    {"item", [](const Args& a) {
       const auto& t = a.t(0);
       if (t.numel() != 1) throw std::invalid_argument("item() needs a tensor with one element, got " + shapeString(t));
       if (t.scalar_type() == at::kBool) return a.ret(t.item<bool>());
       return a.ret(t.item<double>());
     }},
});

OpRegistrar autograd({
    {"requiresGrad", [](const Args& a) { return a.ret(a.t(0).requires_grad()); }},
    {"setRequiresGrad", [](const Args& a) { a.t(0).requires_grad_(a.b(1)); return a.none(); }},
    {"isLeaf", [](const Args& a) { return a.ret(a.t(0).is_leaf()); }},
    {"gradFn", [](const Args& a) -> Napi::Value {
       auto fn = a.t(0).grad_fn();
       return fn ? Napi::String::New(a.env, fn->name()) : a.none();
     }},
    // backward(t, gradient?, retainGraph?)
    {"backward", [](const Args& a) {
       const auto& t = a.t(0);
       if (!a.has(1) && t.numel() != 1) {
         throw std::invalid_argument("backward() without a gradient needs a scalar, got " + shapeString(t));
       }
       t.backward(a.has(1) ? a.t(1) : at::Tensor(), a.has(2) ? c10::optional<bool>(a.b(2)) : c10::nullopt);
       return a.none();
     }},
    {"grad", [](const Args& a) -> Napi::Value {
       const auto& g = a.t(0).grad();
       return g.defined() ? a.ret(g) : a.none();
     }},
    // setGrad(t, g | undefined): undefined clears the gradient (PyTorch's zero_grad(set_to_none)).
    {"setGrad", [](const Args& a) {
       a.t(0).mutable_grad() = a.has(1) ? a.t(1) : at::Tensor();
       return a.none();
     }},
    {"detach", [](const Args& a) { return a.ret(a.t(0).detach()); }},
    // alias(t): a second handle to the same tensor (same autograd identity: grad, grad_fn), that
    // lives on when the first is disposed.
    {"alias", [](const Args& a) { return a.ret(a.t(0)); }},
    {"retainGrad", [](const Args& a) { a.t(0).retain_grad(); return a.none(); }},
});

// In-place updates: they return nothing, the JS side keeps its handle.
OpRegistrar inplace({
    {"copy_", [](const Args& a) { a.t(0).copy_(a.t(1)); return a.none(); }},
    {"zero_", [](const Args& a) { a.t(0).zero_(); return a.none(); }},
    {"fill_", [](const Args& a) { a.t(0).fill_(a.scalar(1)); return a.none(); }},
    {"mul_", [](const Args& a) {
       if (a.isTensor(1)) a.t(0).mul_(a.t(1)); else a.t(0).mul_(a.scalar(1));
       return a.none();
     }},
    // add_(t, other, alpha)
    {"add_", [](const Args& a) {
       at::Scalar alpha = a.has(2) ? a.scalar(2) : at::Scalar(1);
       if (a.isTensor(1)) a.t(0).add_(a.t(1), alpha); else a.t(0).add_(a.scalar(1), alpha);
       return a.none();
     }},
    {"addcmul_", [](const Args& a) { a.t(0).addcmul_(a.t(1), a.t(2), a.scalar(3)); return a.none(); }},
    {"addcdiv_", [](const Args& a) { a.t(0).addcdiv_(a.t(1), a.t(2), a.scalar(3)); return a.none(); }},
    {"clamp_", [](const Args& a) {
       a.t(0).clamp_(a.has(1) ? c10::optional<at::Scalar>(a.scalar(1)) : c10::nullopt,
                     a.has(2) ? c10::optional<at::Scalar>(a.scalar(2)) : c10::nullopt);
       return a.none();
     }},
    {"uniform_", [](const Args& a) { a.t(0).uniform_(a.d(1), a.d(2), a.gen(3)); return a.none(); }},
    {"normal_", [](const Args& a) { a.t(0).normal_(a.d(1), a.d(2), a.gen(3)); return a.none(); }},
});

}  // namespace
}  // namespace vm
