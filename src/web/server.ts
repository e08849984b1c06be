/**
 * The local server behind `videomae web`: the page (web/index.html), its script (web/src/main.ts
 * bundled in memory with esbuild at start-up, so it imports the samplers and transforms of
 * src/data/ instead of copying them), the exported model and its JSON, and onnxruntime-web's
 * scripts and .wasm files straight from node_modules — nothing from a CDN.
 *
 * Every response carries Cross-Origin-Opener-Policy: same-origin and
 * Cross-Origin-Embedder-Policy: require-corp, which make the page cross-origin isolated: the
 * condition for SharedArrayBuffer, i.e. for onnxruntime-web's multi-threaded WASM.
 */
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { build } from "esbuild";

/** The page's folder, web/ at the package root (from src/web/ and from the compiled dist/web/ alike). */
const WEB = join(import.meta.dirname, "../../web");

export interface WebServerOptions {
  /** The exported .onnx file (its .json sidecar must be beside it). */
  model: string;
  /** 0 = any free port (default 8080). */
  port?: number;
  host?: string;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
  server: Server;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".onnx": "application/octet-stream",
  ".data": "application/octet-stream",
  ".map": "application/json; charset=utf-8",
};

/** onnxruntime-web's dist folder (scripts and .wasm binaries). */
export function ortWebDist(): string {
  return dirname(createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
}

/** The page script: web/src/main.ts and what it imports from src/, one ES module. */
export async function bundlePage(): Promise<string> {
  const r = await build({
    entryPoints: [join(WEB, "src", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    sourcemap: "inline",
    external: ["/ort/*"],
    logLevel: "silent",
  });
  return r.outputFiles[0]!.text;
}

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const sidecar = o.model.replace(/\.onnx$/i, "") + ".json";
  if (!existsSync(o.model)) throw new Error(`${o.model}: no such model file`);
  if (!existsSync(sidecar)) throw new Error(`${sidecar}: missing (videomae export writes it beside the .onnx file)`);
  const meta = JSON.parse(readFileSync(sidecar, "utf8")) as { format?: string };
  if (meta.format !== "videomae-onnx/1") throw new Error(`${sidecar}: not a videomae export (format ${JSON.stringify(meta.format)})`);
  if (existsSync(`${o.model}.data`)) throw new Error(`${o.model}: weights in an external .data file are not served to the browser; export without --external-data`);
  const script = await bundlePage();
  const html = readFileSync(join(WEB, "index.html"), "utf8");
  const ortDir = ortWebDist();
  const ortFiles = new Set(readdirSync(ortDir).filter((f) => /^ort[\w.-]*\.(mjs|wasm|map)$/.test(f)));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const headers: Record<string, string> = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-store",
    };
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { ...headers, "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const file = (path: string, type: string) => {
      res.writeHead(200, { ...headers, "Content-Type": type, "Content-Length": statSync(path).size });
      if (req.method === "HEAD") res.end();
      else createReadStream(path).pipe(res);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    const p = url.pathname;
    if (p === "/" || p === "/index.html") return send(200, TYPES[".html"]!, html);
    if (p === "/app.js") return send(200, TYPES[".js"]!, script);
    if (p === "/model.onnx") return file(o.model, TYPES[".onnx"]!);
    if (p === "/model.json") return file(sidecar, TYPES[".json"]!);
    if (p === "/favicon.ico") {
      res.writeHead(204, headers);
      return res.end();
    }
    if (p.startsWith("/ort/")) {
      const name = p.slice(5);
      if (ortFiles.has(name)) return file(join(ortDir, name), TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream");
    }
    send(404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 8080, o.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
