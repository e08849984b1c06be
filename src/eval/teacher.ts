/**
 * The distillation teacher loader (`distill` takes it as a parameter: train/ sits below eval/):
 * any checkpoint that eval/predict load — ours, whose metadata says the architecture, or an
 * official .pth with its registry name.
 */
import type { VisionTransformer } from "../models/vit.ts";
import type { TeacherLoader } from "../train/distill.ts";
import { loadModelForInference } from "./load_model.ts";

export const loadTeacher: TeacherLoader = async (checkpoint, model) => {
  const m = await loadModelForInference<VisionTransformer>({ checkpoint, model: model ?? undefined, kind: "vit" });
  return { model: m.model, labels: m.labels };
};
