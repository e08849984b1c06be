/** `videomae convert IN.pth OUT.safetensors [--dtype f32|f16|bf16]`. */
import { fromFloat32, toFloat32 } from "../../io/convert.ts";
import type { RawTensor } from "../../io/raw.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import { openStateDict } from "../../io/state_dict.ts";
import { defineCommand, UsageError } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { choice } from "../options/schema.ts";

const DTYPES = { f32: "float32", f16: "float16", bf16: "bfloat16" } as const;

export const convertCommand = defineCommand({
  name: "convert",
  usage: "IN.pth OUT.safetensors [--dtype f32|f16|bf16] [--json]",
  description: `Reads the state dict of an official checkpoint (found under "model" or "module", or a bare
dict; other entries such as optimizer state and args are dropped), keeps the key names as they
are (our loader strips _orig_mod./encoder./module. when loading), converts floating-point tensors
to --dtype when given (integer tensors are kept), and writes a safetensors file atomically.`,
  options: {
    dtype: choice(["f32", "f16", "bf16"], { description: "float type of the floating-point tensors written", defaultText: "unchanged" }),
    ...jsonOutputOption("a summary"),
  },
  operands: true,
  epilogue: `Example:
  videomae convert vit_g_hybrid_pt_1200e_k710_ft.pth vit_g_k710.safetensors --dtype bf16`,
  async run(values, positionals) {
    const [input, output] = positionals;
    if (!input || !output || positionals.length !== 2) throw new UsageError("need IN.pth and OUT.safetensors");
    const dtype = values.dtype ? DTYPES[values.dtype] : undefined;
    const src = await openStateDict(input);
    const out = new Map<string, RawTensor>();
    let bytes = 0;
    try {
      for (const [k, lazy] of src.tensors) {
        let t = await lazy.read();
        const floating = t.dtype === "float32" || t.dtype === "float16" || t.dtype === "bfloat16" || t.dtype === "float64";
        if (dtype && floating && t.dtype !== dtype) t = dtype === "float32" ? toFloat32(t) : fromFloat32(toFloat32(t), dtype);
        out.set(k, t);
        bytes += t.data.byteLength;
      }
    } finally {
      await src.close();
    }
    await writeSafetensors(output, out, { metadata: { source: input, converted_by: "videomae convert" } });
    const summary = { input, output, wrapper: src.wrapper, tensors: out.size, bytes, dtype: dtype ?? "unchanged" };
    console.log(values.json ? JSON.stringify(summary) : `${output}: ${out.size} tensors, ${(bytes / 2 ** 20).toFixed(1)} MiB (${summary.dtype}) from ${input}` + (src.wrapper ? ` ["${src.wrapper}"]` : ""));
    return 0;
  },
});
