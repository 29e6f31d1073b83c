// The HTML view of `nhictl graph` in a real headless browser (Debian's chromium, driven by
// playwright-core): the page loads with every network request refused and none attempted, draws
// every node of the fixture coloured by risk, and clicking an identity shows its blast radius and
// its paths, with the path's edges highlighted; a screenshot is checked for the drawn risk colours.
// `make e2e` installs chromium first (e2e/scripts/ensure-chromium.sh); the test never skips.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { inflateSync } from "node:zlib";
import { expect } from "chai";
import { chromium, type Browser } from "playwright-core";
import { runNhictl } from "../harness/nhictl.js";

const FIXTURE = "test/fixtures/manifests/graph/attack-paths.yaml";
const CHROMIUM = process.env.NHI_CHROMIUM ?? "/usr/bin/chromium";

/** RGB pixels of a PNG (8-bit RGB/RGBA, not interlaced: what chromium writes). */
function decodePng(png: Buffer): {
  width: number;
  height: number;
  pixel(x: number, y: number): [number, number, number];
} {
  expect(png.subarray(1, 4).toString("latin1")).to.equal("PNG");
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString("latin1");
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], "bit depth").to.equal(8);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels, "colour type RGB or RGBA").to.not.equal(0);
      expect(data[12], "interlace").to.equal(0);
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (out[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (out[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (out[(y - 1) * stride + x - channels] as number) : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => [
      out[y * stride + x * channels] as number,
      out[y * stride + x * channels + 1] as number,
      out[y * stride + x * channels + 2] as number,
    ],
  };
}

describe("nhictl graph --format html in a headless browser", function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let dir = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "nhi-graph-html-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu"],
    });
  });
  after(async () => {
    await browser?.close();
    if (dir !== "" && process.env.E2E_KEEP_DATA !== "1")
      rmSync(dir, { recursive: true, force: true });
  });

  it("loads with no network, draws every node by risk, and a click shows the identity's blast radius and paths", async () => {
    const html = await runNhictl(["graph", FIXTURE, "--format", "html"]);
    expect(html.code, html.stderr).to.equal(0);
    const json = await runNhictl(["graph", FIXTURE, "--format", "json"]);
    const report = JSON.parse(json.stdout) as { nodes: { id: string; risk: string }[] };
    const file = join(dir, "graph.html");
    writeFileSync(file, html.stdout);
    const url = pathToFileURL(file).href;

    const page = await (browser as Browser).newPage({ viewport: { width: 1600, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    // Anything but the page itself is refused (and recorded above): the page must need nothing.
    await page.route("**/*", (route) =>
      route.request().url() === url ? route.continue() : route.abort(),
    );
    await page.goto(url, { waitUntil: "load" });

    expect(requests, "the page fetched nothing but itself").to.deep.equal([url]);
    expect(errors, "no script or CSP error").to.deep.equal([]);
    // The page's own DOM, evaluated in the browser (this project compiles without DOM types).
    const drawn = await page.evaluate<string[][]>(
      `[...document.querySelectorAll("svg .node")].map((n) => [n.getAttribute("data-id"), n.getAttribute("data-risk"), getComputedStyle(n.querySelector("rect")).fill])`,
    );
    expect(drawn.map((d) => d[0]).sort()).to.deep.equal(report.nodes.map((n) => n.id).sort());
    expect(drawn.find((d) => d[0] === "cluster-admin")?.[2]).to.equal("rgb(214, 39, 40)");
    expect(drawn.find((d) => d[0] === "sa:shop/reporter")?.[1]).to.equal("critical");

    await page.click('.node[data-id="sa:shop/reporter"]');
    const details = await page.textContent("#details");
    expect(details).to.include("shop/reporter");
    expect(details).to.include("cluster-admin in 6 hops");
    expect(details).to.include("to cluster-admin (6 hops)");
    expect(details).to.include(
      "shop/reporter —get secrets in namespace shop→ Secret shop/db-token",
    );
    expect(details).to.include("Pod ci/runner —runs as ServiceAccount deployer→ ci/deployer");
    const highlighted = await page.$$eval(".edge.on", (es) =>
      es.map((e) => `${e.getAttribute("data-from") ?? ""} ${e.getAttribute("data-to") ?? ""}`),
    );
    expect(highlighted).to.include("sa:shop/reporter secret:shop/db-token");
    expect(highlighted).to.include("sa:platform/admin cluster-admin");
    expect(
      await page.$eval('.node[data-id="sa:shop/reporter"]', (n) =>
        n.classList.contains("selected"),
      ),
    ).to.equal(true);

    // The screenshot shows what the DOM says: critical red where cluster-admin is drawn, and the
    // details panel written.
    const shot = await page.screenshot({ fullPage: false });
    writeFileSync(join(dir, "graph.png"), shot);
    const png = decodePng(shot);
    expect([png.width, png.height]).to.deep.equal([1600, 900]);
    const box = await page.$eval('.node[data-id="cluster-admin"] rect', (r) => {
      const b = r.getBoundingClientRect();
      return { x: b.x, y: b.y, w: b.width, h: b.height };
    });
    const [r, g, b] = png.pixel(Math.round(box.x + 4), Math.round(box.y + box.h - 4));
    expect([r, g, b], "cluster-admin drawn in critical red").to.deep.equal([214, 39, 40]);
    const panel = await page.$eval("#details", (d) => {
      const bb = d.getBoundingClientRect();
      return { x: bb.x, w: bb.width };
    });
    let dark = 0;
    for (let y = 0; y < 300; y++)
      for (let x = Math.round(panel.x); x < Math.round(panel.x + panel.w); x += 2)
        if (png.pixel(x, y)[0] < 100) dark++;
    expect(dark, "the details panel holds text").to.be.greaterThan(200);
    await page.close();
  });
});
