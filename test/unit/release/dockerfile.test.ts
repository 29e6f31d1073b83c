// The Dockerfile and the chart describe one container: the chart's command, ports, user and paths
// must be what the image provides. There is no container engine in CI; scripts/package-check.sh
// proves the image's install step (scripts/install-package.sh) instead, and this test that the
// Dockerfile uses exactly that step.
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../crds/load.js";
import { findObject, renderChart } from "../../../e2e/harness/chart.js";

export interface Instruction {
  op: string;
  args: string;
}
export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile instructions by stage (line continuations joined, comments dropped, FROM's ARGs expanded). */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read ${JSON.stringify(line)}`);
    const op = (m[1] ?? "").toUpperCase();
    const rest = (m[2] ?? "").trim();
    if (op === "ARG" && stages.length === 0) {
      const [k, v = ""] = rest.split("=", 2);
      args.set(k ?? "", v);
      continue;
    }
    if (op === "FROM") {
      const [image = "", as, name] = rest
        .replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? "")
        .split(/\s+/);
      stages.push({
        from: image,
        ...(as?.toUpperCase() === "AS" && name ? { name } : {}),
        instructions: [],
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) throw new Error(`Dockerfile: ${op} before FROM`);
    stage.instructions.push({ op, args: rest });
  }
  return stages;
}

/** End of maintenance of each Node.js LTS line (https://nodejs.org/en/about/previous-releases). */
const NODE_LTS_END_OF_LIFE: Record<number, string> = {
  20: "2026-04-30",
  22: "2027-04-30",
  24: "2028-04-30",
};

describe("Dockerfile", () => {
  const stages = parseDockerfile(readFileSync(join(repoRoot(), "Dockerfile"), "utf8"));
  const runtime = stages[stages.length - 1] as Stage;
  const last = (op: string): string | undefined =>
    runtime.instructions.filter((i) => i.op === op).at(-1)?.args;
  const container = () => {
    const spec = findObject(renderChart("nhi-system"), "Deployment").spec as {
      template: {
        spec: {
          securityContext: { runAsUser: number; runAsGroup: number };
          containers: { command: string[]; ports: { name: string; containerPort: number }[] }[];
        };
      };
    };
    return {
      pod: spec.template.spec,
      c: spec.template.spec.containers[0] as {
        command: string[];
        ports: { name: string; containerPort: number }[];
      },
    };
  };

  it("parses stages, continuations and FROM's ARGs", () => {
    const s = parseDockerfile(
      "ARG B=node:1\nFROM ${B} AS build\nRUN a \\\n && b\nFROM ${B}\n# c\nUSER 1:2\n",
    );
    expect(s).to.deep.equal([
      { from: "node:1", name: "build", instructions: [{ op: "RUN", args: "a   && b" }] },
      { from: "node:1", instructions: [{ op: "USER", args: "1:2" }] },
    ]);
  });

  it("is multi-stage on a Node.js LTS line still maintained, pinned to a release tag", () => {
    expect(stages.length).to.be.at.least(2);
    for (const s of stages) {
      const m = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(-slim)?$/.exec(s.from);
      expect(m, `FROM ${s.from}: pin node:<major>.<minor>.<patch>-<debian>[-slim]`).to.not.equal(
        null,
      );
      const eol = NODE_LTS_END_OF_LIFE[Number(m?.[1])];
      expect(eol, `node ${m?.[1]} is not an LTS line`).to.be.a("string");
      expect(
        new Date(`${eol}T00:00:00Z`).getTime(),
        `node ${m?.[1]} is past its end of life (${eol})`,
      ).to.be.above(Date.now());
    }
  });

  it("installs production dependencies only, through the step make check-package proves, and copies only that install", () => {
    const build = stages.find(
      (s) =>
        s.name ===
        runtime.instructions
          .find((i) => i.op === "COPY" && i.args.startsWith("--from="))
          ?.args.match(/--from=(\S+)/)?.[1],
    );
    expect(build, "the runtime stage copies from a build stage").to.not.equal(undefined);
    expect(
      build?.instructions.some(
        (i) =>
          i.op === "RUN" &&
          /npm pack\b/.test(i.args) &&
          /sh scripts\/install-package\.sh \S+ \/app\b/.test(i.args),
      ),
    ).to.equal(true);
    expect(readFileSync(join(repoRoot(), "scripts", "install-package.sh"), "utf8")).to.match(
      /npm ci --omit=dev/,
    );
    expect(runtime.instructions.filter((i) => i.op === "COPY").map((i) => i.args)).to.deep.equal([
      "--from=build /app /app",
    ]);
    expect(
      runtime.instructions.some((i) => i.op === "RUN" && /\bnpm\b/.test(i.args)),
      "no npm in the runtime stage",
    ).to.equal(false);
  });

  it("the chart runs the image's ENTRYPOINT under its WORKDIR as the image's numeric user, on the ports it EXPOSEs", () => {
    const { pod, c } = container();
    const entrypoint = JSON.parse(last("ENTRYPOINT") ?? "null") as string[];
    expect(c.command).to.deep.equal(entrypoint);
    const workdir = last("WORKDIR") ?? "";
    const script = entrypoint[1] ?? "";
    expect(script.startsWith(`${workdir}/`), `${script} under WORKDIR ${workdir}`).to.equal(true);
    // The script is compiled from the repository's source and shipped (package.json files: dist/).
    expect(
      existsSync(
        join(
          repoRoot(),
          script
            .slice(workdir.length + 1)
            .replace(/^dist\//, "")
            .replace(/\.js$/, ".ts"),
        ),
      ),
    ).to.equal(true);
    expect(last("USER")).to.equal(
      `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
    );
    expect((last("EXPOSE") ?? "").split(/\s+/).map(Number).sort()).to.deep.equal(
      c.ports.map((p) => p.containerPort).sort(),
    );
  });

  it("has nhictl on the PATH for CI jobs that use the image", () => {
    expect(
      runtime.instructions.some(
        (i) => i.op === "RUN" && i.args.includes("/app/dist/cli/main.js /usr/local/bin/nhictl"),
      ),
    ).to.equal(true);
  });
});
