export { Progress, formatDuration, type ProgressOptions } from "./progress.ts";
export { MetricsLog, type MetricRecord } from "./metrics.ts";
export { curvesSvg, niceTicks, type Chart, type Series } from "./plot.ts";
export { StopRequest } from "./signals.ts";
export { saveCheckpoint, loadCheckpoint, restoreCheckpoint, CheckpointError, CHECKPOINT_FORMAT, type CheckpointContents } from "./checkpoint.ts";
export { trainLoop, NonFiniteLossError, type StepOutput, type TrainLoopOptions, type TrainLoopResult } from "./loop.ts";
