/**
 * A small static server for the browser app, bound to 127.0.0.1 (WebGPU needs
 * a secure context; http://127.0.0.1 is one). It serves only:
 *
 *   /                       web/index.html
 *   /app.css                web/app.css
 *   /dist/*                 the bundle (web/dist/, built by web/build.ts)
 *   /weights/*.safetensors  the network weights (weights/)
 *
 * Nothing else, nothing from other origins, and no uploads: the scan a user
 * opens never leaves the browser tab.
 *
 *   npx tsx web/serve.ts [--port 8080] [--weights FILE]
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const WEB_DIR = fileURLToPath(new URL('.', import.meta.url));
const REPO_DIR = join(WEB_DIR, '..');

export const SHIPPED_WEIGHTS_NAME = 'cacnet-demo.safetensors';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

/**
 * No third-party anything: scripts, styles, images and fetches only from this
 * origin (blob: for the downloads and data: for the empty favicon).
 */
const CSP = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Sent with every response, errors included. */
const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/**
 * The Host header must name this server (127.0.0.1 or localhost, on its
 * port): a page from another site that rebinds its own name to 127.0.0.1
 * (DNS rebinding) would otherwise read what we serve as same-origin.
 */
export function isOwnHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

export interface WebServerOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Serve this file as /weights/cacnet-demo.safetensors instead of weights/cacnet-demo.safetensors. */
  weights?: string;
}

export interface WebServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Maps a URL path to a file on disk, or undefined for anything we do not serve. */
function route(pathname: string, weights: string | undefined): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return join(WEB_DIR, 'index.html');
  if (pathname === '/app.css') return join(WEB_DIR, 'app.css');
  const inside = (root: string, rest: string): string | undefined => {
    const file = normalize(join(root, rest));
    return file.startsWith(root + sep) ? file : undefined;
  };
  if (pathname.startsWith('/dist/')) return inside(join(WEB_DIR, 'dist'), pathname.slice('/dist/'.length));
  if (pathname.startsWith('/weights/') && pathname.endsWith('.safetensors')) {
    const name = pathname.slice('/weights/'.length);
    if (weights && name === SHIPPED_WEIGHTS_NAME) return weights;
    return inside(join(REPO_DIR, 'weights'), name);
  }
  return undefined;
}

export async function startWebServer(opts: WebServerOptions = {}): Promise<WebServer> {
  const server = createServer(async (req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    };
    if (!isOwnHost(req.headers.host, (server.address() as AddressInfo).port)) return send(403, 'forbidden: this server answers only to 127.0.0.1 and localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(400, 'bad request');
    }
    const file = route(pathname, opts.weights);
    if (!file) return send(404, 'not found');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      return send(404, pathname.startsWith('/dist/') ? 'not built: run npm run web (it builds web/dist first)' : 'not found');
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, weights: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port must be 0..65535, got ${values.port}`);
    process.exit(2);
  }
  try {
    const web = await startWebServer({ port, weights: values.weights });
    console.log(`web: serving the CAC-Net app at ${web.url} (127.0.0.1 only; Ctrl-C stops)`);
    if (values.weights) console.log(`web: weights ${basename(values.weights)} served as /weights/${SHIPPED_WEIGHTS_NAME}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`web: port ${port} is in use; try npm run web -- --port 8081`);
      process.exit(1);
    }
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
