// Shared by the browser tests: a static file server for www/ on 127.0.0.1 (a free port,
// in this process), and Debian's Chromium driven by playwright-core with the launch flags
// of TOOLCHAIN.md. Not a test file itself (node --test runs *.test.js).

import http from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const WWW = path.join(ROOT, "www");
export const ARTIFACTS = path.join(ROOT, "test-artifacts");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

/**
 * Serves `dir` on 127.0.0.1 at a free port. Resolves to `{ url, close, requests }`.
 * `exclude(pathname)` makes a path answer 404, as the Worker answers for the files it does
 * not serve. `handle(req, res, url)` may answer a request first (and return true).
 */
export async function serve(dir = WWW, { exclude = () => false, handle = null } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    requests.push(url.pathname);
    if (handle && (await handle(req, res, url))) return;
    if (exclude(url.pathname)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    let file = path.normalize(path.join(dir, decodeURIComponent(url.pathname)));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (url.pathname.endsWith("/")) file = path.join(file, "index.html");
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] || "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

export const LAUNCH = {
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
};

export function launch() {
  return chromium.launch(LAUNCH);
}

/** Fails clearly when the playground has not been built. */
export function assertBuilt() {
  for (const f of ["pkg/toolgate_bg.wasm", "pkg/toolgate.js", "dist/main.js"]) {
    if (!existsSync(path.join(WWW, f))) {
      throw new Error(`www/${f} is missing: run scripts/build-playground.sh first`);
    }
  }
}

/**
 * Opens the page in a fresh context (1366×768, no stored policy), or in `context` (a
 * reload with its storage), and collects console errors, page errors and failed
 * requests into `page.problems`.
 */
export async function openPage(browser, url, { hash = "", context: given = null } = {}) {
  const context = given || (await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true }));
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (msg) => {
    // The browser's own line for a failed request names no URL; add where it came from.
    const where = msg.location()?.url;
    if (msg.type() === "error" || msg.type() === "warning") page.problems.push(`console.${msg.type()}: ${msg.text()}${where ? ` (${where})` : ""}`);
  });
  page.on("pageerror", (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on("requestfailed", (req) => page.problems.push(`requestfailed: ${req.url()}`));
  page.on("response", (res) => {
    if (res.status() >= 400) page.problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  await page.goto(url + hash);
  await page.waitForFunction(() => document.documentElement.dataset.ready, null, { timeout: 20_000 });
  const ready = await page.evaluate(() => document.documentElement.dataset.ready);
  if (ready !== "true") throw new Error(`the page did not start: ${page.problems.join("; ")}`);
  return { context, page };
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Replaces the editor's text the way a user would: select all, then type or paste. */
export async function setPolicy(page, text) {
  await page.click(".cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  // insertText is what a paste does: one input event with the whole text.
  await page.keyboard.insertText(text);
  await waitSettled(page);
}

/** Waits until the page has re-validated the current text (the debounce is 150 ms). */
export async function waitSettled(page) {
  await page.waitForTimeout(250);
}

export async function editorText(page) {
  return page.evaluate(() => window.toolgate.editor.getText());
}
