/** Reading the `<model>.json` sidecar of an exported model from disk. */
import { existsSync, readFileSync } from "node:fs";
import { checkMeta, OnnxMetaError, sidecarPath, type OnnxModelMeta } from "./meta.ts";

/** Reads `<model>.json` beside an .onnx file. */
export function readSidecar(onnxPath: string): OnnxModelMeta {
  const p = sidecarPath(onnxPath);
  if (!existsSync(p)) throw new OnnxMetaError(`${p}: missing (videomae export writes it beside the .onnx file)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw new OnnxMetaError(`${p}: ${(e as Error).message}`);
  }
  return checkMeta(json, p);
}
