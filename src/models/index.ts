/**
 * The model family: configurations, the fine-tune ViT, the pre-training model, the pre-training
 * loss, and `createModel` — a registry name or a config in, the right class out.
 *
 *   const vit = createModel("vit_base_patch16_224", { numClasses: 174 });          // VisionTransformer
 *   const mae = createModel("pretrain_videomae_base_patch16_224", {}, { generator }); // PretrainVisionTransformer
 */
import {
  createConfig,
  withOverrides,
  type ModelConfig,
  type ModelName,
  type OverridesFor,
  type PretrainConfig,
  type PretrainModelName,
  type PretrainOverrides,
  type VitConfig,
  type VitModelName,
  type VitOverrides,
} from "./config.ts";
import type { ModelOptions } from "./blocks.ts";
import { PretrainVisionTransformer } from "./pretrain.ts";
import { VisionTransformer } from "./vit.ts";

export * from "./config.ts";
export * from "./counting.ts";
export { trainingMemory, formatTrainingMemory, type MemoryEstimate, type TowerMemory } from "./memory.ts";
export { sinusoidTable, PositionTableError } from "./position.ts";
export {
  Attention,
  Block,
  checkpointBlocks,
  Mlp,
  ModelInputError,
  PatchEmbed,
  dropPathRates,
  gatherTokens,
  sinusoidTensor,
  type BlockConfig,
  type ModelOptions,
} from "./blocks.ts";
export { VisionTransformer } from "./vit.ts";
export {
  PretrainVisionTransformer,
  PretrainVisionTransformerDecoder,
  PretrainVisionTransformerEncoder,
  type TokenSelection,
} from "./pretrain.ts";
export * from "./loss.ts";
export { loadCheckpointInto, describeLoad, isTrainingCheckpoint, type LoadOptions, type CheckpointLoadReport } from "./load.ts";

export type AnyModel = VisionTransformer | PretrainVisionTransformer;
export type ModelFor<C extends ModelConfig> = C extends VitConfig ? VisionTransformer : PretrainVisionTransformer;

/**
 * Builds a model with fresh weights (official init; seed it with `options.generator`).
 * A registry name takes the same overrides as `createConfig`; a config object may be refined with
 * overrides of its own fields (backbone fields of a pre-training config go to its encoder).
 */
export function createModel<N extends VitModelName>(name: N, overrides?: OverridesFor<N>, options?: ModelOptions): VisionTransformer;
export function createModel<N extends PretrainModelName>(name: N, overrides?: OverridesFor<N>, options?: ModelOptions): PretrainVisionTransformer;
export function createModel(config: VitConfig, overrides?: VitOverrides, options?: ModelOptions): VisionTransformer;
export function createModel(config: PretrainConfig, overrides?: PretrainOverrides, options?: ModelOptions): PretrainVisionTransformer;
export function createModel(nameOrConfig: string | ModelConfig, overrides?: Record<string, unknown>, options?: ModelOptions): AnyModel;
export function createModel(nameOrConfig: string | ModelConfig, overrides: Record<string, unknown> = {}, options: ModelOptions = {}): AnyModel {
  const cfg = typeof nameOrConfig === "string" ? createConfig(nameOrConfig as ModelName, overrides) : withOverrides(nameOrConfig, overrides, "createModel");
  return cfg.kind === "vit" ? new VisionTransformer(cfg, options) : new PretrainVisionTransformer(cfg, options);
}
