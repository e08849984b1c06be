/**
 * Op-level timing (native/src/core/op_profile.cc): every ATen op and autograd node run inside
 * `fn`, by name, with calls, inclusive and self milliseconds (self = minus the ops nested in it).
 * This is how a backward pass gets split by op; RecordFunction adds ~1 µs per op, so time the
 * run itself separately.
 *
 * @example
 * const { ops } = profileOps(() => loss.backward());
 * ops[0]; // { name: "torch::autograd::CppNode<vm::(anonymous namespace)::LinearBf16>", calls: 48, totalMs: 120.5, selfMs: 31.2 }
 */
import { ops } from "./native.ts";

export interface OpTime {
  name: string;
  calls: number;
  totalMs: number;
  selfMs: number;
}

/** Runs `fn` with op timing on; rows sorted by self time. Not reentrant. */
export function profileOps<T>(fn: () => T): { result: T; ops: OpTime[] } {
  ops.opProfileStart();
  let rows: OpTime[] = [];
  let result: T;
  try {
    result = fn();
  } finally {
    rows = ops.opProfileStop() as OpTime[];
  }
  return { result, ops: rows };
}
