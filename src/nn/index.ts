export { Module, StateDictError, formatLoadReport, type Layer, type LoadReport } from "./module.ts";
export { Linear, LayerNorm, Conv3d, GELU, Dropout, DropPath, Sequential } from "./layers.ts";
export * as init from "./init.ts";
export { backward, checkpoint, checkpointModule, checkpointModules, moduleGenerators, pendingCheckpoints, discardCheckpoints, CheckpointError } from "./checkpoint.ts";
