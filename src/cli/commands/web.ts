/** `videomae web --model model.onnx [--port P]`: the in-browser classifier page (web/). */
import { startWebServer } from "../../web/server.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

export const webCommand: Command = {
  name: "web",
  help: `Usage: videomae web --model FILE.onnx [--port 8080] [--host 127.0.0.1]

Serves a page that classifies a video entirely in the browser: pick or drop a file; the page
samples the frames itself (<video> + canvas seeking) with the frame indices, resize, centre crop
and normalisation of \`videomae predict\` (the same code, bundled from src/), runs the exported
model with onnxruntime-web — WebGPU when the browser offers an adapter, else multi-threaded
WASM (the server sends the cross-origin isolation headers threads need) — and shows the top 5,
the time of each stage and the sampled frames. Everything is served locally (onnxruntime-web's
files come from node_modules; nothing from a CDN). FILE.json from \`videomae export\` must be
beside the model. Ctrl-C stops the server.

Example:
  videomae export runs/ft/checkpoint-best.safetensors --out model.onnx
  videomae web --model model.onnx --port 8080      # then open http://127.0.0.1:8080/`,
  async run(argv) {
    const { values: v } = parseOptions(argv, { model: { type: "string" }, port: { type: "string" }, host: { type: "string" } });
    if (!v.model) throw new UsageError("--model FILE.onnx is required");
    const port = num(v.port, 8080, "port");
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${v.port}'`);
    const server = await startWebServer({ model: v.model, port, host: v.host });
    console.log(`serving ${v.model} at ${server.url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return 0;
  },
};
