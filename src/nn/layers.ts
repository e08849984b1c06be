/** Basic layers. Shapes in comments; parameter names as PyTorch's, so state dicts match. */
import { empty, ones, zeros } from "../torch/creation.ts";
import * as F from "../torch/functional.ts";
import { rand } from "../torch/creation.ts";
import { generatorOn, type GeneratorLike, type Tensor } from "../torch/tensor.ts";
import { tidy } from "../torch/scope.ts";
import { kaimingUniformDefault, uniform, fans } from "./init.ts";
import { Module, type Layer } from "./module.ts";

/** y = x·Wᵀ + b. x: [..., in] → [..., out]. weight [out, in], bias [out]. */
export class Linear extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias?: Tensor;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean; generator?: GeneratorLike } = {},
  ) {
    super();
    this.weight = this.param("weight", kaimingUniformDefault(empty([outFeatures, inFeatures]), opts.generator));
    if (opts.bias ?? true) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.bias = this.param("bias", uniform(empty([outFeatures]), -bound, bound, opts.generator));
    }
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** LayerNorm over the last dim. x: [..., dim]. weight (γ) 1, bias (β) 0. */
export class LayerNorm extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param("weight", ones([dim]));
    this.bias = this.param("bias", zeros([dim]));
  }
  /**
   * A reduced-precision input (bf16/f16 activations under autocast) is normalised in float32,
   * the output staying float32: layer_norm is on autocast's float32 list on CUDA (where the
   * official models were trained with mixed precision) and in newer PyTorch on CPU; libtorch
   * 1.13's CPU autocast leaves it out, and its kernel rejects a bf16 input with float32 weights.
   */
  forward(x: Tensor): Tensor {
    if (x.dtype !== this.weight.dtype && this.weight.dtype === "float32") {
      return tidy(() => F.layerNorm(x.float(), [this.dim], this.weight, this.bias, this.eps));
    }
    return F.layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

/** 3-D convolution. x: [B, C, T, H, W] → [B, O, T', H', W']. weight [O, C, kt, kh, kw]. */
export class Conv3d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias?: Tensor;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: [number, number, number],
    readonly opts: { stride?: [number, number, number]; padding?: [number, number, number]; bias?: boolean; generator?: GeneratorLike } = {},
  ) {
    super();
    this.weight = this.param("weight", kaimingUniformDefault(empty([outChannels, inChannels, ...kernel]), opts.generator));
    if (opts.bias ?? true) {
      const bound = 1 / Math.sqrt(fans(this.weight).fanIn);
      this.bias = this.param("bias", uniform(empty([outChannels]), -bound, bound, opts.generator));
    }
  }
  forward(x: Tensor): Tensor {
    return F.conv3d(x, this.weight, this.bias, this.opts.stride ?? [1, 1, 1], this.opts.padding ?? [0, 0, 0]);
  }
}

/** Exact (erf) GELU, as nn.GELU(). */
export class GELU extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.gelu();
  }
}

/** Inverted dropout with probability p, active only in training mode. */
export class Dropout extends Module implements Layer {
  constructor(
    readonly p: number,
    readonly generator?: GeneratorLike,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.generator);
  }
}

/**
 * Stochastic depth (timm's drop_path): in training, each sample's branch output is zeroed with
 * probability p and the kept ones scaled by 1/(1−p). x: [B, ...] (one draw per sample).
 */
export class DropPath extends Module implements Layer {
  constructor(
    readonly p: number,
    readonly generator?: GeneratorLike,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keepProb = 1 - this.p;
    const shape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
    const device = x.device;
    const u = rand(shape, { generator: generatorOn(this.generator, device), dtype: x.dtype, device });
    const mask = u.add(keepProb).floor(); // 1 with probability keepProb
    const out = x.div(keepProb).mul(mask);
    u.dispose();
    mask.dispose();
    return out;
  }
}

/** Layers applied in order. */
export class Sequential extends Module implements Layer {
  readonly layers: (Module & Layer)[];
  constructor(...layers: (Module & Layer)[]) {
    super();
    this.layers = layers;
  }
  override namedChildren(): [string, Module][] {
    return this.layers.map((m, i) => [String(i), m]);
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}
