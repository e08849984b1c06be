/**
 * Deterministic memory for tensors. Every Tensor created while a scope is open is recorded in
 * it; when the scope closes, every recorded tensor that is not part of the result is disposed
 * (its native memory freed at once instead of whenever V8 collects the handle).
 *
 *   const loss = tidy(() => model.forward(x).sub(y).square().mean()); // temporaries freed
 *
 * Tensors created outside any scope live until `dispose()` or garbage collection (native
 * memory is reported to V8, so collection happens in time). Module parameters are `keep()`-ed.
 */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];

/** Called by the Tensor constructor. */
export function track(t: Disposable): void {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
}

/** Removes a tensor from the open scope so it survives the scope's end. Returns it. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if (isDisposable(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === "function" && "isDisposed" in v;
}

/**
 * Runs `fn` in a new scope and disposes every tensor it created except those in its result
 * (a tensor, or arrays/plain objects/Maps of them, up to 4 levels deep). The kept tensors move
 * to the enclosing scope. `fn` must be synchronous: an async function would let other work's
 * tensors land in this scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new TypeError("tidy() got an async function; tensors must be created synchronously inside it");
  }
  const kept = new Set<Disposable>();
  collect(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Disposes every tensor found in `value` (a tensor, or arrays/objects/Maps of them). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) t.dispose();
}

/** Number of open scopes (for tests and diagnostics). */
export function scopeDepth(): number {
  return scopes.length;
}
