/**
 * Parameter groups as the official get_parameter_groups (spec §5.1): no weight decay for 1-D
 * parameters (biases, LayerNorm weights, q_bias/v_bias), names ending in ".bias" or ".scale",
 * and names in the model's skip list (pos_embed, cls_token, mask_token); optional layer-wise
 * lr decay through a `layerId(name)` and per-layer scales.
 */
import type { Tensor } from "../torch/tensor.ts";
import type { ParamGroup } from "./adamw.ts";

export interface ParamGroupOptions {
  weightDecay: number;
  /** Names (exact) that never get weight decay. */
  skip?: string[];
  /** Layer id of a parameter name, for layer decay; with `layerScales`. */
  layerId?: (name: string) => number;
  layerScales?: number[];
}

export function parameterGroups(named: [string, Tensor][], o: ParamGroupOptions): ParamGroup[] {
  const skip = new Set(o.skip ?? []);
  const groups = new Map<string, ParamGroup>();
  for (const [name, p] of named) {
    if (!p.requiresGrad) continue;
    const noDecay = p.ndim === 1 || name.endsWith(".bias") || name.endsWith(".scale") || skip.has(name);
    const layer = o.layerId ? o.layerId(name) : 0;
    const key = `layer_${layer}_${noDecay ? "no_decay" : "decay"}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        name: key,
        params: [],
        weightDecay: noDecay ? 0 : o.weightDecay,
        lrScale: o.layerScales ? o.layerScales[layer]! : 1,
      };
      groups.set(key, g);
    }
    g.params.push(p);
  }
  return [...groups.values()];
}

/**
 * Layer-wise lr decay as the official LayerDecayValueAssigner: with L blocks, layer ids are
 * patch_embed/pos_embed/cls_token/mask_token → 0, blocks.k → k+1, everything else → L+1, and
 * scale(id) = decay^(L+1−id).
 */
export function layerDecay(numBlocks: number, decay: number): { layerId: (name: string) => number; layerScales: number[] } {
  const layerScales = Array.from({ length: numBlocks + 2 }, (_, i) => decay ** (numBlocks + 1 - i));
  const layerId = (name: string): number => {
    const n = name.replace(/^(encoder|backbone|_orig_mod)\./, "");
    if (/^(patch_embed|pos_embed|cls_token|mask_token)/.test(n)) return 0;
    const m = /^blocks\.(\d+)\./.exec(n);
    if (m) return Number(m[1]) + 1;
    return numBlocks + 1;
  };
  return { layerId, layerScales };
}
