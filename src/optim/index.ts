export { AdamW, type AdamWOptions, type AdamWState, type ParamGroup } from "./adamw.ts";
export { clipGradNorm, gradNorm } from "./clip.ts";
export { cosineSchedule, type CosineScheduleOptions } from "./schedule.ts";
export { parameterGroups, layerDecay, type ParamGroupOptions } from "./param_groups.ts";
export { GradScaler, type GradScalerOptions, type GradScalerState } from "./grad_scaler.ts";
