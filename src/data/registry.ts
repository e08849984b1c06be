/**
 * Rebuilds a dataset from its spec — how a worker thread gets its own copy of the dataset
 * (readers, transforms and mask generators are per thread). Custom datasets name a module whose
 * factory builds them, so user-defined datasets run in workers too.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";

import type { Dataset, DatasetSpec } from "./dataset.ts";
import { VideoClsDataset, type VideoClsOptions } from "./datasets.ts";
import { DataError } from "./errors.ts";
import { HybridDataset, type HybridOptions } from "./hybrid.ts";

export async function datasetFromSpec(spec: DatasetSpec): Promise<Dataset> {
  switch (spec.kind) {
    case "cls":
      return new VideoClsDataset(spec.options as VideoClsOptions);
    case "hybrid":
      return new HybridDataset(spec.options as HybridOptions);
    case "custom": {
      const url = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module;
      const mod = (await import(url)) as Record<string, unknown>;
      const name = spec.export ?? "createDataset";
      const factory = mod[name];
      if (typeof factory !== "function") throw new DataError(`custom dataset module ${spec.module} has no exported function "${name}"`);
      return (await (factory as (o: unknown) => Dataset | Promise<Dataset>)(spec.options)) as Dataset;
    }
    default:
      throw new DataError(`unknown dataset kind "${(spec as { kind: string }).kind}"`);
  }
}
