// `npm run gen:builtin-roles`: regenerates core/rbac/builtin-roles.data.ts from a real kube-apiserver
// of the pinned version (e2e/versions.env). Starts its own control plane (etcd and kube-apiserver
// only: the RBAC bootstrap is the API server's; the clusterrole-aggregation controller would only
// fill aggregating roles, which the table leaves empty), lists every object labelled
// kubernetes.io/bootstrapping=rbac-defaults, writes the data module and stops the plane.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, readVersions } from "../harness/binaries.js";
import { listBootstrapRbac, renderDataModule } from "../harness/bootstrap-rbac.js";
import { ControlPlane } from "../harness/controlplane.js";

const DATA_MODULE = join(REPO_ROOT, "core", "rbac", "builtin-roles.data.ts");

async function main(): Promise<void> {
  const { KUBE_VERSION } = readVersions();
  const plane = await ControlPlane.start({ controllerManager: false, scheduler: false });
  try {
    // /readyz (which start() waits for) includes poststarthook/rbac/bootstrap-roles: the bootstrap is done.
    const rbac = await listBootstrapRbac(plane.kube);
    if (rbac.clusterRoles.length === 0)
      throw new Error("the API server listed no bootstrapping-labelled ClusterRoles");
    writeFileSync(DATA_MODULE, renderDataModule(rbac, KUBE_VERSION));
    process.stdout.write(
      `gen:builtin-roles: wrote ${rbac.clusterRoles.length} ClusterRoles, ${rbac.clusterRoleBindings.length} ClusterRoleBindings, ${rbac.roles.length} Roles and ${rbac.roleBindings.length} RoleBindings of kube-apiserver ${KUBE_VERSION} to ${DATA_MODULE}\n`,
    );
  } finally {
    await plane.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`gen:builtin-roles: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
