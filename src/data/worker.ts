/**
 * The data-loader worker thread (started through worker.mjs). It rebuilds the dataset from
 * the spec in workerData, then loads the positions the pool sends, one at a time in arrival
 * order — the pool relies on that order to know which task was running if the thread dies —
 * and posts each sample back with its buffers transferred (no copy).
 */
import { parentPort, workerData } from "node:worker_threads";

import type { Sample } from "./dataset.ts";
import { SampleFetcher } from "./fetch.ts";
import { datasetFromSpec } from "./registry.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";

const port = parentPort!;
const init = workerData as WorkerInit;
const fetcher = datasetFromSpec(init.spec).then((ds) => new SampleFetcher(ds, init.fetch));
fetcher.then(
  () => port.postMessage({ type: "ready" } satisfies FromWorker),
  () => undefined, // a dataset that cannot be built is reported with the first task
);

let chain: Promise<void> = Promise.resolve();
port.on("message", (msg: ToWorker) => {
  if (msg.type === "task") chain = chain.then(() => run(msg));
});

async function run(msg: Extract<ToWorker, { type: "task" }>): Promise<void> {
  let reply: FromWorker;
  let transfer: ArrayBuffer[] = [];
  try {
    const result = await (await fetcher).fetch(msg.task);
    reply = { type: "result", id: msg.id, result };
    transfer = buffersOf(result.sample);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { type: "error", id: msg.id, name: e.name, message: e.message };
  }
  port.postMessage(reply, transfer);
}

/** Distinct whole buffers of a sample's arrays (each array owns its buffer, see packViews). */
function buffersOf(s: Sample): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of [s.video, s.encoderMask, s.decoderMask]) if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}
