/** `videomae web --model model.onnx [--port P]`: the in-browser classifier page (web/). */
import { startWebServer } from "../../web/server.ts";
import { defineCommand } from "../command.ts";
import { number, text } from "../options/schema.ts";

export const webCommand = defineCommand({
  name: "web",
  usage: "--model FILE.onnx [--port 8080] [--host 127.0.0.1]",
  description: `Serves a page that classifies a video entirely in the browser: pick or drop a file; the page
samples the frames itself (<video> + canvas seeking) with the frame indices, resize, centre crop
and normalisation of \`videomae predict\` (the same code, bundled from src/), runs the exported
model with onnxruntime-web — WebGPU when the browser offers an adapter, else multi-threaded
WASM (the server sends the cross-origin isolation headers threads need) — and shows the top 5,
the time of each stage and the sampled frames. Everything is served locally (onnxruntime-web's
files come from node_modules; nothing from a CDN). FILE.json from \`videomae export\` must be
beside the model. Ctrl-C stops the server.`,
  options: {
    model: text({ valueName: "FILE.onnx", required: true, description: "a model from `videomae export` (FILE.json beside it)" }),
    port: number({ valueName: "P", default: 8080, description: "port to listen on (0: any free port)" }),
    host: text({ valueName: "HOST", default: "127.0.0.1", description: "address to listen on" }),
  },
  epilogue: `Example:
  videomae export runs/ft/checkpoint-best.safetensors --out model.onnx
  videomae web --model model.onnx --port 8080      # then open http://127.0.0.1:8080/`,
  async run(v) {
    const server = await startWebServer({ model: v.model, port: v.port, host: v.host });
    console.log(`serving ${v.model} at ${server.url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return 0;
  },
});
