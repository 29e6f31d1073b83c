import { expect } from "chai";
import {
  imageGlobProblems,
  imageMatches,
  imageMatchesAny,
  normalizeImage,
} from "../../../core/nhi/images.js";

describe("nhi/images", () => {
  describe("imageGlobProblems", () => {
    const sane = [
      "registry.example.com/shop/orders-api:*",
      "registry.example.com/shop/*",
      "registry.example.com:5000/shop/app:v1.*",
      "localhost/app:*",
      "localhost:5000/app@sha256:*",
      "docker.io/library/nginx:1.2?",
      "quay.io/prometheus/prometheus:v3.*",
      "ghcr.io/org/app-*:*",
      "registry.example.com/team/app:Release-1",
    ];
    for (const g of sane) it(`${g} is sane`, () => expect(imageGlobProblems(g)).to.deep.equal([]));

    const insane: Array<[string, RegExp]> = [
      ["nginx:*", /does not start with a registry host/],
      ["*", /does not start with a registry host/],
      ["*.example.com/app:*", /wildcard in the registry host/],
      ["registry.example.*/app", /wildcard in the registry host/],
      ["library/nginx:*", /not a registry host/],
      ["registry.example.com//app:*", /empty path component/],
      ["registry.example.com/app/", /empty path component/],
      ["registry.example.com/Team/app:*", /no image can have/],
      ["registry.example.com/**", /\*\*/],
    ];
    for (const [g, re] of insane) {
      it(`${g} is flagged`, () => {
        const problems = imageGlobProblems(g);
        expect(problems.map((p) => p.message).join("; ")).to.match(re);
        for (const p of problems) expect(p.fix).to.not.equal("");
      });
    }
  });

  describe("normalizeImage", () => {
    const table: Array<[string, string]> = [
      ["nginx", "docker.io/library/nginx:latest"],
      ["nginx:1.27", "docker.io/library/nginx:1.27"],
      ["bitnami/redis:7", "docker.io/bitnami/redis:7"],
      ["registry.example.com/shop/app", "registry.example.com/shop/app:latest"],
      ["localhost:5000/app", "localhost:5000/app:latest"],
      ["registry.example.com/app@sha256:abc", "registry.example.com/app@sha256:abc"],
    ];
    for (const [input, out] of table)
      it(`${input} → ${out}`, () => expect(normalizeImage(input)).to.equal(out));
  });

  describe("imageMatches", () => {
    const table: Array<[string, string, boolean]> = [
      [
        "registry.example.com/shop/orders-api:*",
        "registry.example.com/shop/orders-api:1.2.3",
        true,
      ],
      ["registry.example.com/shop/orders-api:*", "registry.example.com/shop/orders-api", true],
      [
        "registry.example.com/shop/orders-api:*",
        "registry.example.com/shop/orders-api-evil:1",
        false,
      ],
      ["registry.example.com/shop/*", "registry.example.com/shop/team/app:1", true],
      ["registry.example.com/shop/*", "registry.example.com.evil.io/shop/app:1", false],
      ["docker.io/library/nginx:1.2?", "nginx:1.27", true],
      ["docker.io/library/nginx:1.2?", "nginx:1.3", false],
      ["registry.example.com/app:v1.*", "registry.example.com/app:v1x0", false],
      ["localhost:5000/app@sha256:*", "localhost:5000/app@sha256:0123", true],
    ];
    for (const [glob, image, want] of table) {
      it(`${glob} ${want ? "matches" : "does not match"} ${image}`, () =>
        expect(imageMatches(glob, image)).to.equal(want));
    }

    it("imageMatchesAny (patterns compiled once per array) agrees with imageMatches on every row, asked twice", () => {
      for (const [glob, image, want] of table) {
        const globs = ["registry.example.com/unrelated:*", glob];
        expect(imageMatchesAny(globs, image)).to.equal(want);
        expect(imageMatchesAny(globs, image)).to.equal(want);
      }
    });

    it("imageMatchesAny reads a changed NHI's new patterns (a new array), not the old compiled ones", () => {
      const image = "registry.example.com/shop/app:1";
      expect(imageMatchesAny(["registry.example.com/other/*"], image)).to.equal(false);
      expect(imageMatchesAny(["registry.example.com/shop/*"], image)).to.equal(true);
      expect(imageMatchesAny([], image)).to.equal(false);
    });
  });
});
