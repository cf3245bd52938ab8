/**
 * Printers for networking.k8s.io/v1: Ingresses (CLASS, HOSTS, ADDRESS, PORTS),
 * IngressClasses (CONTROLLER, PARAMETERS) and NetworkPolicies (POD-SELECTOR), as
 * kube-apiserver's printIngress, printIngressClass and printNetworkPolicy.
 */
import { labelSelectorText } from "./workloads.ts";

import { timestampAge } from "./human_duration.ts";
import { AGE_COLUMN, col, NAME_COLUMN, type Printer } from "./table.ts";

/** Server-side printing is never `-o wide`: kube-apiserver truncates addresses to 16. */
const LOAD_BALANCER_WIDTH = 16;

/** formatHosts: up to three hosts, `*` when no rule names one. */
function formatHosts(rules: { host?: string }[]): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const r of rules) {
    if (list.length === max) more = true;
    if (!more && r.host) list.push(r.host);
  }
  if (list.length === 0) return "*";
  const text = list.join(",");
  return more ? `${text} + ${rules.length - max} more...` : text;
}

/** ingressLoadBalancerStatusStringer: the IPs and hostnames, truncated as unwide. */
function formatAddress(ingress: { ip?: string; hostname?: string }[]): string {
  const parts = ingress.flatMap((i) => i.ip ? [i.ip] : i.hostname ? [i.hostname] : []);
  const text = parts.join(",");
  return text.length > LOAD_BALANCER_WIDTH ? `${text.slice(0, LOAD_BALANCER_WIDTH - 3)}...` : text;
}

/** networking.k8s.io/v1 Ingresses. */
export const ingressPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Class", "The name of the IngressClass resource that should be used for ingress."),
    col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    AGE_COLUMN,
  ],
  row: (ing, now) => ({
    cells: [
      ing.metadata.name ?? "",
      ing.spec?.ingressClassName ?? "<none>",
      formatHosts(ing.spec?.rules ?? []),
      formatAddress(ing.status?.loadBalancer?.ingress ?? []),
      (ing.spec?.tls ?? []).length > 0 ? "80, 443" : "80",
      timestampAge(ing.metadata.creationTimestamp, now),
    ],
  }),
};

/** networking.k8s.io/v1 IngressClasses. */
export const ingressClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col("Controller", "Controller that is responsible for handling this class"),
    col("Parameters", "A reference to a resource with additional parameters"),
    AGE_COLUMN,
  ],
  row: (cls, now) => {
    const p = cls.spec?.parameters;
    const parameters = p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ""}/${p.name}` : "<none>";
    return {
      cells: [
        cls.metadata.name ?? "",
        cls.spec?.controller ?? "",
        parameters,
        timestampAge(cls.metadata.creationTimestamp, now),
      ],
    };
  },
};

/** metav1.FormatLabelSelector: the canonical text, `<none>` when empty, `<error>` if invalid. */
/** networking.k8s.io/v1 NetworkPolicies. */
export const networkPolicyPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col(
      "Pod-Selector",
      "Selects the pods to which this NetworkPolicy object applies. The array of rules is applied to any pods selected by this field. An empty selector matches all pods in this namespace.",
    ),
    AGE_COLUMN,
  ],
  row: (np, now) => ({
    cells: [
      np.metadata.name ?? "",
      labelSelectorText(np.spec?.podSelector),
      timestampAge(np.metadata.creationTimestamp, now),
    ],
  }),
};
