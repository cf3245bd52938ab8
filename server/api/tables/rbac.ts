/**
 * Printers for RBAC objects with kube-apiserver 1.32's columns: Roles and ClusterRoles show
 * NAME and CREATED AT; bindings show NAME, ROLE (`Kind/name`), AGE and, with `-o wide`, their
 * USERS, GROUPS and SERVICEACCOUNTS (`namespace/name`).
 */

import type { KubeObject } from "../../../shared/api/object.ts";
import type { Subject } from "../../../shared/api/rbac_v1.ts";
import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

/** Roles and ClusterRoles (as LimitRanges): NAME and CREATED AT. */
export const rolePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Created At",
      "CreationTimestamp is a timestamp representing the server time when this object was created.",
      { type: "date" },
    ),
  ],
  row: (role) => ({
    cells: [role.metadata.name ?? "", role.metadata.creationTimestamp ?? null],
  }),
};

/** The users, groups and service accounts (`namespace/name`) a binding names, as kubectl prints. */
export function subjectsStrings(
  subjects: readonly Subject[] | undefined,
): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of subjects ?? []) {
    if (s.kind === "User") users.push(s.name);
    else if (s.kind === "Group") groups.push(s.name);
    else if (s.kind === "ServiceAccount") sas.push(`${s.namespace ?? ""}/${s.name}`);
  }
  return [users.join(", "), groups.join(", "), sas.join(", ")];
}

/** RoleBindings and ClusterRoleBindings. */
export const roleBindingPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Role",
      "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
    ),
    AGE_COLUMN,
    col("Users", "Users in the roleBinding", { priority: 1 }),
    col("Groups", "Groups in the roleBinding", { priority: 1 }),
    col("ServiceAccounts", "ServiceAccounts in the roleBinding", { priority: 1 }),
  ],
  row: (binding: KubeObject, now) => ({
    cells: [
      binding.metadata.name ?? "",
      `${binding.roleRef?.kind ?? ""}/${binding.roleRef?.name ?? ""}`,
      timestampAge(binding.metadata.creationTimestamp, now),
      ...subjectsStrings(binding.subjects),
    ],
  }),
};
