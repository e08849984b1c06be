/**
 * The AVA action-detection model of VideoMAE (spec §1; VideoMAE-Action-Detection
 * `modeling_finetune.py`): the fine-tune ViT backbone, then per person box
 *
 *   clip (B, 3, T, H, W), H and W multiples of the patch (padded by the collate)
 *     → patch_embed + sinusoid table, each time slice resized bicubically to (H/p, W/p)
 *     → blocks → norm                                     [B, T', h, w, D]
 *     → mean over time                                    [B, D, h, w]   (MEAN_BEFORE_POOLER)
 *     → ROIAlign 7×7, scale 1/p, sampling 0, aligned=false  [K, D, 7, 7]  (boxes in input pixels)
 *     → max over the 7×7 bins                             [K, D]
 *     → head Linear(D, 80)                                [K, 80] logits
 *
 * Training: BCE on all 80 logits; testing: sigmoid(logit) × the person detector's score.
 *
 * The state dict is the reference's: the ViT keys with `norm.*` (not `fc_norm`) and `head.*`
 * [80, D], no prefix, no position table (a fixed buffer). So the class is a VisionTransformer
 * built without mean pooling (which is exactly that key set), with a detection forward.
 */
import { tidy, type Tensor } from "../torch/index.ts";
import { F } from "../torch/index.ts";
import { ModelInputError, posFor, type ModelOptions } from "./blocks.ts";
import { gridSize, type VitConfig } from "./config.ts";
import { VisionTransformer } from "./vit.ts";

/** AVA v2.2 has 80 action ids (1..80); the logit of action a is column a − 1. */
export const AVA_NUM_CLASSES = 80;
/** ROIAlign output bins per side (ROIPoolingCfg: 7×7). */
export const ROI_BINS = 7;

/** The detector's config: the backbone's with no mean pooling (→ `norm`, no `fc_norm`) and an 80-row head. */
export function detectionConfig(backbone: VitConfig, numClasses = AVA_NUM_CLASSES): VitConfig {
  return { ...backbone, useMeanPooling: false, numClasses };
}

export class ActionDetector extends VisionTransformer {
  constructor(cfg: VitConfig, opts: ModelOptions = {}) {
    if (cfg.useMeanPooling) throw new ModelInputError("ActionDetector: build it from detectionConfig(…) (no mean pooling: the detector uses `norm`)");
    super(cfg, opts);
  }

  /**
   * The position table for a (h, w) token grid: the (T', g, g) table, each time slice resized
   * bicubically (align_corners=False) to (h, w) as `interpolate_pos_embed_online` does → [1, T'·h·w, D].
   */
  positionTable(h: number, w: number): Tensor {
    const [t, gh, gw] = gridSize(this.config);
    const D = this.config.embedDim;
    if (h === gh && w === gw) return this.pos_embed;
    return tidy(() =>
      F.interpolate(this.pos_embed.detach().reshape([t, gh, gw, D]).permute([0, 3, 1, 2]), [h, w], "bicubic", false) // [T', D, h, w]
        .permute([0, 2, 3, 1])
        .reshape([1, t * h * w, D]),
    );
  }

  /** Time-averaged feature map of padded clips: (B, 3, T, H, W) → [B, D, H/p, W/p]. */
  featureMap(x: Tensor): Tensor {
    const c = this.config;
    const s = x.shape;
    const p = c.patchSize;
    if (s.length !== 5 || s[1] !== c.inChans || s[2] !== c.numFrames || s[3]! % p !== 0 || s[4]! % p !== 0) {
      throw new ModelInputError(
        `ActionDetector: expected clips (B, ${c.inChans}, ${c.numFrames}, H, W) with H and W multiples of the patch ${p} (pad them), got [${s.join(", ")}]`,
      );
    }
    const [B, , , H, W] = s as [number, number, number, number, number];
    const [t, h, w] = [c.numFrames / c.tubeletSize, H / p, W / p];
    return tidy(() => {
      let tok = this.patch_embed.proj.forward(x).flatten(2).transpose(1, 2); // [B, T'·h·w, D]
      tok = tok.add(posFor(this.positionTable(h, w), tok).detach());
      tok = this.pos_drop.forward(tok);
      for (const blk of this.blocks) tok = blk.forward(tok);
      tok = this.norm!.forward(tok); // [B, N, D]
      return tok.reshape([B, t, h, w, c.embedDim]).mean(1).permute([0, 3, 1, 2]).contiguous(); // [B, D, h, w]
    });
  }

  /**
   * Action logits of person boxes: `rois` [K, 5] rows (clip index in the batch, x1, y1, x2, y2)
   * in input pixels (after resize and crop) → [K, numClasses].
   */
  detect(x: Tensor, rois: Tensor): Tensor {
    return tidy(() => {
      const fmap = this.featureMap(x).float(); // ROIAlign in float32 also under bf16 autocast
      const pooled = F.roiAlign(fmap, rois, { output: [ROI_BINS, ROI_BINS], spatialScale: 1 / this.config.patchSize, samplingRatio: 0, aligned: false });
      const [K, D] = pooled.shape as [number, number];
      const feat = pooled.reshape([K, D, ROI_BINS * ROI_BINS]).maxDim(2)[0]; // MaxPool2d(7) → [K, D]
      return this.head!.forward(this.head_dropout.forward(feat)); // [K, classes]
    });
  }
}

/**
 * BCE with logits averaged over all K×80 entries, × K (the reference multiplies the mean loss by
 * the number of boxes, so each box weighs the same whatever the batch's box count). Written as
 * max(x, 0) − x·y + log(1 + e^−|x|), the stable form.
 */
export function detectionLoss(logits: Tensor, targets: Tensor): Tensor {
  return tidy(() => {
    const elem = logits.relu().sub(logits.mul(targets)).add(logits.abs().neg().exp().add(1).log());
    return elem.mean().mul(logits.shape[0]!);
  });
}
