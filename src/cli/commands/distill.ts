/** `videomae distill`: options from defaults ← --config JSON ← flags, as pretrain/finetune. */
import { loadTeacher } from "../../eval/teacher.ts";
import { distill } from "../../train/distill.ts";
import { defineCommand } from "../command.ts";
import { distillOptions } from "../options/training.ts";
import { DISTRIBUTED_HELP, runMaybeDistributed, runOptions, trainingCommandOptions } from "./train.ts";

export const distillCommand = defineCommand({
  name: "distill",
  usage: `--train TRAIN.csv --teacher CKPT [--val VAL.csv] [--labels LABELS.txt] [--finetune CKPT]
                        [--model NAME] [--out DIR] [options] [--config FILE.json] [--json]`,
  description: `Distils a fine-tuned teacher (any size; ours, or an official .pth with --teacher-model NAME) into a
student ViT: loss = τ²·KL(teacher_τ ‖ student_τ) [--temperature τ] + α·cross-entropy on the labels
[--alpha, default 0: pure logit distillation, as the released ViT-S/ViT-B students]
+ β·MSE of the student's pooled features, linearly projected to the teacher's width, against the
teacher's [--feature-weight, default 0]. Everything else is the fine-tuning recipe (see
\`videomae finetune --help\`): the same data pipeline and augmentation — the teacher, in eval mode
without gradients (--teacher-precision bf16: under bf16 autocast), sees exactly the student's
augmented clip; under mixup/cutmix its soft targets are mixed like the labels — layer-wise lr
decay, drop path, warm-up + cosine, validation each epoch (student top-1, teacher top-1, and their
agreement; checkpoint-best by the student's top-1), --resume, data-parallel.

The student starts from scratch, or from --finetune CKPT: a pre-training checkpoint (encoder
weights, a fresh head) or a fine-tuned one (--head-label-map to row-gather its head), as in
finetune. Label spaces: by default the student keeps the teacher's classes (and class names);
--teacher-label-map FILE.json (a list: student class i ← teacher class map[i], e.g.
label_710to400.json) distils a 710-class teacher into a 400-class student, whose list labels are
then in the 400-class space.

--cache-teacher DIR stores the teacher's outputs per (clip, augmentation draw) and reads them back
in later runs with the same seed, list, sampling and augmentation options and teacher (these pick
a sub-folder of DIR): another student, lr or batch size then skips the teacher. It is only valid
while the augmentation is deterministic in the seed — true of this loader, where every draw is a
function of (seed, epoch, position), but not if the videos change under the same paths or another
decoder gives other pixels. Mixup is applied after the cache, so its settings may differ.`,
  options: { ...distillOptions, ...trainingCommandOptions },
  epilogue: `Example (ViT-g K710 teacher → ViT-S K400 student initialised from a pre-trained encoder):
  videomae distill --train k400_train.csv --val k400_val.csv --labels k400.txt \\
      --teacher vit_g_hybrid_pt_1200e_k710_ft.pth --teacher-model vit_giant_patch14_224 \\
      --teacher-label-map label_710to400.json --teacher-precision bf16 \\
      --model vit_small_patch16_224 --finetune runs/pt_s/checkpoint-last.safetensors \\
      --temperature 1 --epochs 100 --batch-size 32 --cache-teacher cache/vit_g --out runs/distill_s
${DISTRIBUTED_HELP}`,
  async run(options) {
    const run = runOptions(options);
    return runMaybeDistributed(options.json, (log, dist) => distill(run, loadTeacher, log, dist));
  },
});
