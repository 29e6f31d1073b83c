// Groups that stand for all their members. The API server puts every ServiceAccount in
// system:serviceaccounts, system:serviceaccounts:<its namespace> and system:authenticated (with every
// authenticated user), and every request without credentials in system:unauthenticated
// (kubernetes pkg/serviceaccount/util.go MakeGroupNames; authenticator group adders). A binding to
// one of them grants to every member, present and future — and every namespace has a `default`
// ServiceAccount — so the group is judged as a holder in its own right, not only through the
// members that happen to be known. This module is the one table of those groups.

export const GROUP_ALL_SERVICE_ACCOUNTS = "system:serviceaccounts";
export const GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX = "system:serviceaccounts:";
export const GROUP_AUTHENTICATED = "system:authenticated";
export const GROUP_UNAUTHENTICATED = "system:unauthenticated";
/**
 * The user every anonymous request authenticates as: its requests are exactly the members of
 * system:unauthenticated, so a binding to this user is held as one to that group.
 */
export const ANONYMOUS_USER = "system:anonymous";

/** A group a binding may name that stands for all its members (see above). */
export interface MemberGroup {
  /** The group's name as a binding subject names it. */
  name: string;
  /**
   * Whose ServiceAccounts it holds: a namespace; "*" for every namespace; undefined when it holds
   * no ServiceAccount (system:unauthenticated: anonymous requests only).
   */
  serviceAccountNamespace?: string;
  /** Also every authenticated user (system:authenticated) or every anonymous request (system:unauthenticated). */
  users: boolean;
  /** Who the members are, for messages: "every ServiceAccount in namespace shop". */
  members: string;
}

/** The member group of that name; undefined for any other group (user groups are not NHIs). */
export function memberGroup(name: string): MemberGroup | undefined {
  if (name === GROUP_ALL_SERVICE_ACCOUNTS) {
    return {
      name,
      serviceAccountNamespace: "*",
      users: false,
      members: "every ServiceAccount in the cluster",
    };
  }
  if (name === GROUP_AUTHENTICATED) {
    return {
      name,
      serviceAccountNamespace: "*",
      users: true,
      members: "every ServiceAccount in the cluster (and every authenticated user)",
    };
  }
  if (name === GROUP_UNAUTHENTICATED) {
    return { name, users: true, members: "every unauthenticated (anonymous) request" };
  }
  if (
    name.startsWith(GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX) &&
    name.length > GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX.length
  ) {
    const namespace = name.slice(GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX.length);
    return {
      name,
      serviceAccountNamespace: namespace,
      users: false,
      members: `every ServiceAccount in namespace ${namespace}`,
    };
  }
  return undefined;
}

export const isMemberGroup = (name: string): boolean => memberGroup(name) !== undefined;

/** The member groups a ServiceAccount of `namespace` is in, narrowest first. */
export function groupsOfServiceAccount(namespace: string): string[] {
  return [
    GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX + namespace,
    GROUP_ALL_SERVICE_ACCOUNTS,
    GROUP_AUTHENTICATED,
  ];
}

/**
 * The member groups every member of `group` is in, itself first, narrowest first: what the group
 * holds is what bindings to any of them give.
 */
export function enclosingGroups(group: string): string[] {
  const g = memberGroup(group);
  if (g === undefined) return [];
  if (g.name === GROUP_UNAUTHENTICATED || g.name === GROUP_AUTHENTICATED) return [g.name];
  if (g.name === GROUP_ALL_SERVICE_ACCOUNTS) return [g.name, GROUP_AUTHENTICATED];
  return groupsOfServiceAccount(g.serviceAccountNamespace ?? "");
}

/** Is every member of `inner` also a member of `outer` (a group contains itself)? */
export function groupContains(outer: string, inner: string): boolean {
  return enclosingGroups(inner).includes(outer);
}

/** The identity string of a group in findings: "group:<name>". */
export function groupIdentity(name: string): string {
  return `group:${name}`;
}

/** The group a "group:<name>" identity names, when it is a member group. */
export function parseGroupIdentity(identity: string): MemberGroup | undefined {
  return identity.startsWith("group:") ? memberGroup(identity.slice("group:".length)) : undefined;
}
