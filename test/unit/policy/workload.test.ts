import { expect } from "chai";
import {
  decideWorkload,
  type Requester,
  type WorkloadInput,
} from "../../../core/policy/workload.js";
import {
  ADMISSION_DEFAULTS,
  CLI_DEFAULTS,
  type EffectivePolicy,
} from "../../../core/policy/settings.js";
import type { WorkloadObject } from "../../../core/snapshot.js";
import { NOW, world } from "../webhooks/world.js";

const W = world();

function pod(
  sa: string | undefined,
  opts: {
    labels?: Record<string, string>;
    image?: string;
    automount?: boolean;
    volumes?: unknown[];
    env?: unknown[];
    envFrom?: unknown[];
  } = {},
): WorkloadObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "shop", labels: opts.labels ?? { app: "orders-api" } },
    spec: {
      ...(sa ? { serviceAccountName: sa } : {}),
      ...(opts.automount === undefined ? {} : { automountServiceAccountToken: opts.automount }),
      containers: [
        {
          name: "app",
          image: opts.image ?? "registry.example.com/shop/orders-api:1.2",
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.envFrom ? { envFrom: opts.envFrom } : {}),
        },
      ],
      ...(opts.volumes ? { volumes: opts.volumes } : {}),
    },
  };
}

function deployment(
  sa: string,
  labels: Record<string, string> = { app: "orders-api" },
): WorkloadObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "shop" },
    spec: {
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: sa,
          automountServiceAccountToken: false,
          containers: [{ name: "app", image: "registry.example.com/shop/orders-api:2" }],
        },
      },
    },
  };
}

function input(
  object: WorkloadObject,
  opts: {
    requester?: Requester;
    policy?: EffectivePolicy;
    namespace?: string;
    now?: Date;
    oldObject?: WorkloadObject;
  } = {},
): WorkloadInput {
  return {
    ...W,
    object,
    namespace: opts.namespace ?? "shop",
    policy: opts.policy ?? W.policyAt(NOW),
    now: opts.now ?? NOW,
    ...(opts.requester ? { requester: opts.requester } : {}),
    ...(opts.oldObject ? { oldObject: opts.oldObject } : {}),
  };
}

const asSA = (ns: string, name: string): Requester => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
});
const HUMAN: Requester = { username: "alice", groups: ["system:authenticated"] };

describe("decideWorkload", () => {
  const cases: Array<{
    name: string;
    in: WorkloadInput;
    allowed: boolean;
    violations?: string[];
    warnings?: string[];
  }> = [
    {
      name: "a pod that matches its NHI's workloads is allowed",
      in: input(pod("orders-api", { automount: false })),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "a pod whose labels miss the NHI's podSelector is denied",
      in: input(pod("orders-api", { automount: false, labels: { app: "other" } })),
      allowed: false,
      violations: ["workload-selector"],
    },
    {
      name: "an image outside the NHI's patterns is denied",
      in: input(pod("orders-api", { automount: false, image: "docker.io/evil/miner:1" })),
      allowed: false,
      violations: ["workload-image"],
    },
    {
      name: "a short image name is normalized before matching (and denied here)",
      in: input(pod("orders-api", { automount: false, image: "nginx" })),
      allowed: false,
      violations: ["workload-image"],
    },
    {
      name: "automounting the token against automountToken: false is denied",
      in: input(pod("orders-api")),
      allowed: false,
      violations: ["workload-automount"],
    },
    {
      name: "a Deployment template is judged like a pod",
      in: input(deployment("orders-api", { app: "x" })),
      allowed: false,
      violations: ["workload-selector"],
    },
    {
      name: "a Deployment template that matches is allowed",
      in: input(deployment("orders-api")),
      allowed: true,
      violations: [],
    },
    {
      name: "an expired NHI blocks new pods",
      in: input(pod("expired")),
      allowed: false,
      violations: ["nhi-expired"],
    },
    {
      name: "an NHI before its expiry is fine",
      in: input(pod("expired"), { now: new Date("2025-12-31T00:00:00Z") }),
      allowed: true,
      violations: [],
    },
    {
      name: "a suspended NHI blocks new pods",
      in: input(pod("quarantined")),
      allowed: false,
      violations: ["nhi-suspended"],
    },
    {
      name: "Audit enforcement turns a workload mismatch into a warning",
      in: input(pod("audited", { labels: { app: "nope" } })),
      allowed: true,
      violations: [],
      warnings: ["workload-selector"],
    },
    {
      name: "mounting a service-account-token Secret as a volume is denied",
      in: input(
        pod("reader", { volumes: [{ name: "t", secret: { secretName: "admin-bot-token" } }] }),
      ),
      allowed: false,
      violations: ["token-secret-mount"],
    },
    {
      name: "reading a token Secret through env is denied",
      in: input(
        pod("reader", {
          env: [
            { name: "TOKEN", valueFrom: { secretKeyRef: { name: "orders-token", key: "token" } } },
          ],
        }),
      ),
      allowed: false,
      violations: ["token-secret-mount"],
    },
    {
      name: "envFrom a token Secret is denied",
      in: input(pod("reader", { envFrom: [{ secretRef: { name: "orders-token" } }] })),
      allowed: false,
      violations: ["token-secret-mount"],
    },
    {
      name: "an update that keeps an existing token-Secret consumer only warns (rollouts are not blocked)",
      in: input(
        pod("reader", {
          env: [
            { name: "TOKEN", valueFrom: { secretKeyRef: { name: "orders-token", key: "token" } } },
          ],
        }),
        {
          oldObject: pod("reader", {
            env: [
              {
                name: "TOKEN",
                valueFrom: { secretKeyRef: { name: "admin-bot-token", key: "token" } },
              },
            ],
          }),
        },
      ),
      allowed: true,
      violations: [],
      warnings: ["token-secret-mount"],
    },
    {
      name: "an update that adds a new token-Secret consumer is denied",
      in: input(
        pod("reader", {
          env: [
            { name: "TOKEN2", valueFrom: { secretKeyRef: { name: "orders-token", key: "token" } } },
          ],
        }),
        {
          oldObject: pod("reader", {
            env: [
              {
                name: "TOKEN",
                valueFrom: { secretKeyRef: { name: "admin-bot-token", key: "token" } },
              },
            ],
          }),
        },
      ),
      allowed: false,
      violations: ["token-secret-mount"],
    },
    {
      name: "an update from an Opaque Secret to a token Secret at the same place is denied",
      in: input(
        pod("reader", { volumes: [{ name: "t", secret: { secretName: "admin-bot-token" } }] }),
        { oldObject: pod("reader", { volumes: [{ name: "t", secret: { secretName: "db" } }] }) },
      ),
      allowed: false,
      violations: ["token-secret-mount"],
    },
    {
      name: "an Opaque Secret may be mounted",
      in: input(pod("reader", { volumes: [{ name: "db", secret: { secretName: "db" } }] })),
      allowed: true,
      violations: [],
    },
    {
      name: "an unclaimed ServiceAccount is a warning under Audit",
      in: input(pod("reader")),
      allowed: true,
      violations: [],
      warnings: ["unclaimed-service-account"],
    },
    {
      name: "the default ServiceAccount is flagged",
      in: input(pod(undefined)),
      allowed: true,
      violations: [],
      warnings: ["default-service-account"],
    },
    {
      name: "an unclaimed ServiceAccount is denied where a namespace override enforces claims",
      in: input(
        { ...pod("stray"), metadata: { name: "p", namespace: "prod" } },
        { namespace: "prod" },
      ),
      allowed: false,
      violations: ["unclaimed-service-account"],
    },
    {
      name: "requireClaim Off says nothing about unclaimed accounts",
      in: input(pod("reader"), { policy: { ...ADMISSION_DEFAULTS, requireClaim: "Off" } }),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "a governed deployer may run pods as a weaker identity",
      in: input(deployment("orders-api"), { requester: asSA("ci", "deployer") }),
      allowed: true,
      violations: [],
    },
    {
      name: "a governed deployer may not run pods as a cluster-admin identity",
      in: input(pod("admin-bot"), { requester: asSA("ci", "deployer") }),
      allowed: false,
      violations: ["borrowed-identity"],
    },
    {
      name: "an unclaimed deployer borrowing a stronger identity is a warning by default",
      in: input(pod("admin-bot"), { requester: asSA("ci", "loose-deployer") }),
      allowed: true,
      violations: [],
      warnings: ["borrowed-identity"],
    },
    {
      name: "an unclaimed deployer borrowing a stronger identity fails under CLI strictness",
      in: input(pod("admin-bot"), {
        requester: asSA("ci", "loose-deployer"),
        policy: CLI_DEFAULTS,
      }),
      allowed: false,
      violations: ["borrowed-identity"],
    },
    {
      name: "a human requester is not judged for borrowing (RBAC on pods is theirs)",
      in: input(pod("admin-bot"), { requester: HUMAN }),
      allowed: true,
      violations: [],
    },
    {
      name: "control-plane controllers creating pods from judged templates are not judged for borrowing",
      in: input(pod("admin-bot"), { requester: asSA("kube-system", "replicaset-controller") }),
      allowed: true,
      violations: [],
    },
    {
      name: "any other kube-system account (a third-party operator installed there) is judged for borrowing like everyone",
      in: input(pod("admin-bot"), {
        requester: asSA("kube-system", "some-operator"),
        policy: CLI_DEFAULTS,
      }),
      allowed: false,
      violations: ["borrowed-identity"],
    },
    {
      name: "a pod running as its requester is not borrowing",
      in: input(pod("admin-bot"), { requester: asSA("shop", "admin-bot") }),
      allowed: true,
      violations: [],
    },
    {
      name: "a kind that runs no pods is allowed untouched",
      in: input({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c", namespace: "shop" },
      }),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "a workload without a template is allowed (the API server rejects it)",
      in: input({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "d", namespace: "shop" },
        spec: {},
      }),
      allowed: true,
      violations: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideWorkload(c.in);
      expect(d.allowed, JSON.stringify(d.violations, null, 1)).to.equal(c.allowed);
      const got = d.violations.map((v) => v.rule);
      if (c.violations?.length === 0) expect(got).to.deep.equal([]);
      for (const v of c.violations ?? []) expect(got).to.include(v);
      const warned = d.warnings.map((v) => v.rule);
      if (c.warnings?.length === 0) expect(warned).to.deep.equal([]);
      for (const w of c.warnings ?? []) expect(warned).to.include(w);
    });
  }

  it("names object, identity, permission, ceiling and fix for a borrowed identity", () => {
    const d = decideWorkload(input(deployment("admin-bot"), { requester: asSA("ci", "deployer") }));
    const v = d.violations.find((x) => x.rule === "borrowed-identity");
    expect(v?.identity).to.equal("system:serviceaccount:ci:deployer");
    expect(v?.message)
      .to.contain("Deployment shop/d")
      .and.contain("system:serviceaccount:shop:admin-bot")
      .and.contain("cluster-wide")
      .and.contain("NonHumanIdentity ci/deployer");
    expect(v?.fix).to.contain("ServiceAccount");
  });

  it("names the NHI, the template path and the allowed images for an image denial", () => {
    const d = decideWorkload(
      input({
        ...deployment("orders-api"),
        spec: {
          template: {
            metadata: { labels: { app: "orders-api" } },
            spec: {
              serviceAccountName: "orders-api",
              automountServiceAccountToken: false,
              containers: [{ name: "app", image: "evil.io/x:1" }],
            },
          },
        },
      }),
    );
    const v = d.violations[0];
    expect(v?.rule).to.equal("workload-image");
    expect(v?.message)
      .to.contain("NonHumanIdentity shop/orders-api")
      .and.contain("registry.example.com/shop/orders-api:*")
      .and.contain("$.spec.template");
  });

  it("an exemption naming the requester allows borrowing, with a warning", () => {
    const policy: EffectivePolicy = {
      ...W.policyAt(NOW),
      exemptions: [
        { serviceAccounts: ["ci/deployer"], rules: ["borrowed-identity"], reason: "bootstrap job" },
      ],
    };
    const d = decideWorkload(
      input(pod("admin-bot"), { requester: asSA("ci", "deployer"), policy }),
    );
    expect(d.allowed).to.equal(true);
    expect(d.warnings.map((w) => w.message).join()).to.contain("bootstrap job");
  });

  describe("objects a controller makes from its owner's template", () => {
    const TOKEN_ENV = [
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: "orders-token", key: "token" } } },
    ];
    const owned = (
      o: WorkloadObject,
      kind: string,
      apiVersion: string,
      name = "owner",
    ): WorkloadObject => ({
      ...o,
      metadata: {
        ...o.metadata,
        ownerReferences: [{ apiVersion, kind, name, uid: "u", controller: true }],
      },
    });
    const tokenPod = (sa = "reader"): WorkloadObject =>
      owned(pod(sa, { env: TOKEN_ENV }), "ReplicaSet", "apps/v1", "consumer-7d9f");
    const RS_CONTROLLER = asSA("kube-system", "replicaset-controller");

    it("a Pod the replicaset controller creates for an existing token-Secret consumer is allowed, judged by its ReplicaSet", () => {
      const d = decideWorkload(input(tokenPod(), { requester: RS_CONTROLLER }));
      expect(d.allowed, JSON.stringify(d.violations)).to.equal(true);
      expect(d.warnings).to.deep.equal([]);
      expect(d.judgedByOwner).to.deep.equal({
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "consumer-7d9f",
        namespace: "shop",
      });
    });

    it("the same Pod written by a person, or by a ServiceAccount with a copied ownerReference, is a new consumer and denied", () => {
      for (const requester of [
        HUMAN,
        asSA("ci", "deployer"),
        asSA("kube-system", "deployment-controller"),
      ]) {
        const d = decideWorkload(input(tokenPod(), { requester }));
        expect(d.allowed, requester.username).to.equal(false);
        expect(d.violations.map((v) => v.rule)).to.include("token-secret-mount");
        expect(d.judgedByOwner).to.equal(undefined);
      }
      expect(
        decideWorkload(input(tokenPod())).violations.map((v) => v.rule),
        "no requester (nhictl)",
      ).to.include("token-secret-mount");
    });

    it("a ReplicaSet the deployment controller creates (or scales) for a Deployment is judged by it, under every template check", () => {
      const rs: WorkloadObject = owned(
        { ...deployment("stray", { app: "x" }), kind: "ReplicaSet" },
        "Deployment",
        "apps/v1",
        "consumer",
      );
      const template = (rs.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      template.volumes = [{ name: "t", secret: { secretName: "admin-bot-token" } }];
      const byController = decideWorkload(
        input(rs, { requester: asSA("kube-system", "deployment-controller") }),
      );
      expect(byController.allowed, JSON.stringify(byController.violations)).to.equal(true);
      expect(byController.judgedByOwner?.kind).to.equal("Deployment");
      expect(byController.warnings).to.deep.equal([]);
      const scaled = decideWorkload(
        input(rs, { requester: { username: "system:kube-controller-manager" }, oldObject: rs }),
      );
      expect(scaled.allowed).to.equal(true);
      const byPerson = decideWorkload(input(rs, { requester: HUMAN }));
      expect(byPerson.violations.map((v) => v.rule)).to.deep.equal(["token-secret-mount"]);
      expect(byPerson.warnings.map((v) => v.rule)).to.deep.equal(["unclaimed-service-account"]);
    });

    it("quarantine still blocks new pods a controller creates, but not its updates (scale-down, adoption, finalizers)", () => {
      const q = owned(pod("quarantined"), "ReplicaSet", "apps/v1");
      expect(
        decideWorkload(input(q, { requester: RS_CONTROLLER })).violations.map((v) => v.rule),
      ).to.deep.equal(["nhi-suspended"]);
      expect(decideWorkload(input(q, { requester: RS_CONTROLLER, oldObject: q })).allowed).to.equal(
        true,
      );
      const job = owned(
        {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { name: "j", namespace: "shop" },
          spec: {
            template: {
              metadata: {},
              spec: {
                serviceAccountName: "expired",
                containers: [{ name: "a", image: "x.io/a:1" }],
              },
            },
          },
        },
        "CronJob",
        "batch/v1",
      );
      expect(
        decideWorkload(
          input(job, { requester: asSA("kube-system", "cronjob-controller") }),
        ).violations.map((v) => v.rule),
      ).to.deep.equal(["nhi-expired"]);
    });
  });

  it("CronJob templates are found under jobTemplate", () => {
    const cron: WorkloadObject = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "c", namespace: "shop" },
      spec: {
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: { app: "orders-api" } },
              spec: {
                serviceAccountName: "quarantined",
                containers: [{ name: "a", image: "x.io/a:1" }],
              },
            },
          },
        },
      },
    };
    expect(decideWorkload(input(cron)).violations.map((v) => v.rule)).to.deep.equal([
      "nhi-suspended",
    ]);
  });
});
