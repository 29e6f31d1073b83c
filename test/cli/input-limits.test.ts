// What nhictl refuses to judge silently (issue 15, items 5–7): symlinked manifests are followed (a
// link loop ends), a run that found no objects exits 2 unless --allow-empty, inputs above --max-bytes
// exit 2 naming the file, and invalid UTF-8 exits 2 naming the file and byte offset.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MAX_BYTES, invalidUtf8Offset, parseByteSize } from "../../cli/read.js";
import { MANIFESTS, ROOT, nhictl } from "./run.js";

describe("nhictl input limits (process)", function () {
  this.timeout(30_000);
  let dir: string;
  const clean = join(ROOT, MANIFESTS, "clean");

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "nhictl-input-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("symbolic links and empty runs (item 5)", () => {
    it("follows symlinked manifest files and folders: the same verdict as the real files", () => {
      const links = join(dir, "links");
      mkdirSync(join(links, "nested"), { recursive: true });
      for (const f of ["deployment.yaml", "rbac.yaml"]) symlinkSync(join(clean, f), join(links, f));
      symlinkSync(clean, join(links, "nested", "all"));
      const r = nhictl(["check", links]);
      expect(r.code, r.stderr).to.equal(0);
      // Each real file once: the two linked files and the folder link overlap.
      expect(r.stdout).to.match(/^PASS: 0 violations, 0 warnings in 6 objects from 3 files/m);
    });

    it("ends a symlink loop instead of recursing forever", () => {
      const loop = join(dir, "loop");
      mkdirSync(join(loop, "sub"), { recursive: true });
      writeFileSync(join(loop, "sub", "sa.yaml"), readFileSync(join(clean, "shop.yaml")));
      symlinkSync(loop, join(loop, "sub", "back"));
      symlinkSync(join(loop, "sub"), join(loop, "sub", "self"));
      const r = nhictl(["check", loop]);
      expect(r.stderr).not.to.match(/ELOOP|ENAMETOOLONG|stack/i);
      expect([0, 1]).to.include(r.code);
      expect(r.stdout).to.match(/from 1 files?/);
    });

    it("a dangling link named like a manifest is exit 2 naming it", () => {
      const dangling = join(dir, "dangling");
      mkdirSync(dangling);
      symlinkSync(join(dir, "nowhere.yaml"), join(dangling, "gone.yaml"));
      const r = nhictl(["check", dangling]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain("gone.yaml").and.to.contain("dangling link");
    });

    it("exits 2 when the paths hold no objects, and 0 with --allow-empty", () => {
      const empty = join(dir, "empty");
      mkdirSync(empty);
      writeFileSync(join(empty, "README.md"), "# not a manifest\n");
      writeFileSync(join(empty, "blank.yaml"), "---\n# nothing\n");
      const r = nhictl(["check", empty]);
      expect(r.code, r.stdout).to.equal(2);
      expect(r.stderr)
        .to.contain("no objects found in the given paths")
        .and.to.contain("--allow-empty");
      expect(r.stdout).not.to.contain("PASS");
      const stdin = nhictl(["check", "-f", "-"], { input: "" });
      expect(stdin.code).to.equal(2);
      expect(stdin.stderr).to.contain("no objects found");
      const allowed = nhictl(["check", "--allow-empty", empty]);
      expect(allowed.code, allowed.stderr).to.equal(0);
      expect(allowed.stdout).to.match(/PASS: 0 violations, 0 warnings in 0 objects from 1 file/);
    });
  });

  describe("--max-bytes (item 6)", () => {
    it(`refuses a file above the limit with exit 2 naming the file and the limit (default ${DEFAULT_MAX_BYTES} bytes)`, () => {
      const big = join(dir, "big");
      mkdirSync(big);
      writeFileSync(join(big, "a-small.yaml"), readFileSync(join(clean, "shop.yaml")));
      writeFileSync(
        join(big, "b-large.yaml"),
        `# ${"x".repeat(5000)}\n${readFileSync(join(clean, "shop.yaml"), "utf8")}`,
      );
      const r = nhictl(["check", "--max-bytes", "4k", big]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/b-large\.yaml: \d+ bytes is larger than --max-bytes 4000/);
      expect(r.stdout).to.equal("");
      expect(nhictl(["check", "--max-bytes", "64Ki", big]).code).to.not.equal(2);
      const stdin = nhictl(["check", "--max-bytes", "1000", "-f", "-"], {
        input: "# ".padEnd(5000, "y"),
      });
      expect(stdin.code).to.equal(2);
      expect(stdin.stderr).to.contain("<stdin>: the input is larger than --max-bytes 1000");
      const bad = nhictl(["check", "--max-bytes", "lots", big]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain("--max-bytes needs a size");
    });

    it("refuses a 40 MB file under the default limit at once, before reading it", () => {
      const huge = join(dir, "huge.yaml");
      writeFileSync(huge, Buffer.alloc(40 * 1024 * 1024, 0x20));
      const started = Date.now();
      const r = nhictl(["check", huge]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain(
        "huge.yaml: 41943040 bytes is larger than --max-bytes 33554432 (32 MiB)",
      );
      expect(Date.now() - started).to.be.below(5000);
    });

    it("parses sizes", () => {
      expect(parseByteSize("1048576")).to.equal(1048576);
      expect(parseByteSize("64Mi")).to.equal(64 * 1024 * 1024);
      expect(parseByteSize("500k")).to.equal(500_000);
      expect(parseByteSize("1G")).to.equal(1e9);
      for (const bad of ["", "0", "-1", "1.5M", "12 parsecs"])
        expect(parseByteSize(bad), bad).to.equal(undefined);
    });
  });

  describe("invalid UTF-8 (item 7)", () => {
    it("exits 2 naming the file, byte offset and line instead of judging replacement characters", () => {
      const text = Buffer.from(readFileSync(join(clean, "shop.yaml"), "utf8"));
      const at = text.indexOf("name:") + 6;
      const broken = Buffer.concat([
        text.subarray(0, at),
        Buffer.from([0xff, 0xfe]),
        text.subarray(at),
      ]);
      const file = join(dir, "latin.yaml");
      writeFileSync(file, broken);
      const line = broken.subarray(0, at).toString("latin1").split("\n").length;
      const r = nhictl(["check", file]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain(`latin.yaml:${line}: invalid UTF-8 at byte offset ${at} (0xff)`);
      expect(r.stdout).not.to.contain("\uFFFD");
      const stdin = nhictl(["check", "-f", "-"], { input: broken });
      expect(stdin.code).to.equal(2);
      expect(stdin.stderr).to.contain(`<stdin>:${line}: invalid UTF-8 at byte offset ${at} (0xff)`);
    });

    it("finds the first invalid byte: stray continuation, overlong, surrogate, truncated, above U+10FFFF", () => {
      const at = (...bytes: number[]): number | undefined =>
        invalidUtf8Offset(Uint8Array.from(bytes));
      expect(at(0x61, 0x62)).to.equal(undefined);
      expect(at(...Buffer.from("ünï€😀"))).to.equal(undefined);
      expect(at(0x61, 0x80)).to.equal(1);
      expect(at(0xc0, 0xaf)).to.equal(0);
      expect(at(0x61, 0xe0, 0x80, 0xaf)).to.equal(1);
      expect(at(0xed, 0xa0, 0x80)).to.equal(0);
      expect(at(0x61, 0x62, 0xe2, 0x82)).to.equal(2);
      expect(at(0xf4, 0x90, 0x80, 0x80)).to.equal(0);
      expect(at(0xef, 0xbb, 0xbf, 0x61)).to.equal(undefined);
    });
  });
});
