export { Progress, formatDuration, type ProgressOptions } from "../util/progress.ts";
export { MetricsLog, type MetricRecord } from "./metrics.ts";
export { curvesSvg, niceTicks, type Chart, type Series } from "./plot.ts";
export { StopRequest } from "./signals.ts";
export { ConfigError } from "../util/errors.ts";
export { saveCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
export { loadCheckpoint, readCheckpointHeader, CheckpointError, CHECKPOINT_FORMAT, type CheckpointContents } from "../io/checkpoint.ts";
export { trainLoop, NonFiniteLossError, type StepOutput, type TrainLoopOptions, type TrainLoopResult } from "./loop.ts";
