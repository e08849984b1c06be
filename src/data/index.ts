/**
 * Video data: list files, label maps, datasets (pre-training hybrid, fine-tuning dense/segment,
 * test views), and the worker-thread data loader. Samplers, transforms and Mixup live next to
 * them (samplers.ts, transforms/, mixup.ts).
 */
export { DataError, LabelMapError, ListFileError } from "./errors.ts";
export { parseList, readList, type ListEntry, type ListFormat, type ListOptions, type ParseListOptions } from "./lists.ts";
export { LabelIndexMap, mergeLabelledLists, parseLabelNames, readLabelNames, type IndexMapOptions, type LabelledSource } from "./labels.ts";
export { rngFromKeys, sampleRng, Stream, type SampleKey } from "./seeds.ts";
export { defaultEpochOrder, Readers, type Dataset, type DatasetSpec, type DecodeOptions, type ItemInfo, type Sample } from "./dataset.ts";
export { RawFrameClsDataset, VideoClsDataset, type ClsMode, type ResolvedClsOptions, type VideoClsOptions } from "./datasets.ts";
export {
  HybridDataset,
  officialTemplate,
  PretrainDataset,
  type HybridOptions,
  type HybridSource,
  type MaskingOptions,
  type MixEntry,
  type PretrainDatasetOptions,
  type ResolvedHybridOptions,
} from "./hybrid.ts";
export { datasetFromSpec } from "./registry.ts";
export { SampleFetcher, type Failure, type FetchConfig, type FetchResult, type FetchTask } from "./fetch.ts";
export { InProcessExecutor, WorkerPool, workerExecArgv, type Executor, type PoolOptions, type Settled } from "./pool.ts";
export { BatchKindError, clipsOf, collate, disposing, labelledInputs, maskTensors, pretrainingInputs, type Batch, type LabelledBatch, type UnlabelledBatch } from "./collate.ts";
export { DataLoader, type LoaderOptions, type LoaderStats } from "./loader.ts";
