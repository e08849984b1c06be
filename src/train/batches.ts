import type { Batch } from "../data/collate.ts";

/** Frees each batch's tensors once the consumer has moved on to the next one (and the last at the end). */
export async function* disposing(it: AsyncIterable<Batch>): AsyncGenerator<Batch> {
  let prev: Batch | null = null;
  for await (const b of it) {
    prev?.dispose();
    prev = b;
    yield b;
  }
  prev?.dispose();
}
