/** Data-parallel training over libtorch's c10d: environment, DataParallel, and the launcher. */
export { distEnvFrom, DistEnvError, type DistEnv } from "./env.ts";
export { DataParallel, LAUNCHER_PID_VAR } from "./data_parallel.ts";
