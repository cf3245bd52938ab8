import { deepStrictEqual } from "node:assert/strict";
import { type EnvService, serviceEnvVars, visibleServices } from "./service_env.ts";
import { resolveEnv } from "./container_config.ts";
import type { Pod } from "./pod_types.ts";

function svc(name: string, namespace: string, clusterIP: string, ports: EnvService["spec"] = {}) {
  return { metadata: { name, namespace }, spec: { clusterIP, ...ports } } as EnvService;
}

const redis = svc("redis-master", "shop", "10.43.0.20", {
  ports: [{ name: "redis", port: 6379, protocol: "TCP" }, { port: 9121, protocol: "UDP" }],
});

Deno.test("serviceEnvVars() makes the kubelet's names and values", () => {
  deepStrictEqual(serviceEnvVars([redis]), [
    ["REDIS_MASTER_SERVICE_HOST", "10.43.0.20"],
    ["REDIS_MASTER_SERVICE_PORT", "6379"],
    ["REDIS_MASTER_SERVICE_PORT_REDIS", "6379"],
    ["REDIS_MASTER_PORT", "tcp://10.43.0.20:6379"],
    ["REDIS_MASTER_PORT_6379_TCP", "tcp://10.43.0.20:6379"],
    ["REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"],
    ["REDIS_MASTER_PORT_6379_TCP_PORT", "6379"],
    ["REDIS_MASTER_PORT_6379_TCP_ADDR", "10.43.0.20"],
    ["REDIS_MASTER_PORT_9121_UDP", "udp://10.43.0.20:9121"],
    ["REDIS_MASTER_PORT_9121_UDP_PROTO", "udp"],
    ["REDIS_MASTER_PORT_9121_UDP_PORT", "9121"],
    ["REDIS_MASTER_PORT_9121_UDP_ADDR", "10.43.0.20"],
  ]);
  deepStrictEqual(serviceEnvVars([svc("v6", "x", "fd00::1", { ports: [{ port: 80 }] })])[2], [
    "V6_PORT",
    "tcp://[fd00::1]:80",
  ]);
});

Deno.test("visibleServices(): own namespace with service links, kubernetes always, no headless", () => {
  const k8s = svc("kubernetes", "default", "10.43.0.1", { ports: [{ name: "https", port: 443 }] });
  const all = [
    k8s,
    redis,
    svc("other", "elsewhere", "10.43.0.30"),
    svc("headless", "shop", "None"),
    svc("ext", "shop", ""),
  ];
  const names = (l: EnvService[]) => l.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  deepStrictEqual(names(visibleServices(all, "shop", true)), [
    "default/kubernetes",
    "shop/redis-master",
  ]);
  deepStrictEqual(names(visibleServices(all, "shop", false)), ["default/kubernetes"]);
  // A `kubernetes` Service of the pod's own namespace wins over default's.
  const own = svc("kubernetes", "shop", "10.43.0.99");
  deepStrictEqual(names(visibleServices([k8s, own], "shop", true)), ["shop/kubernetes"]);
  deepStrictEqual(names(visibleServices([own, k8s], "shop", true)), ["shop/kubernetes"]);
});

Deno.test("resolveEnv(): the container's variables win, $(VAR) sees service variables", async () => {
  const pod = {
    metadata: { name: "p", namespace: "shop", uid: "u" },
    spec: { containers: [] },
  } as unknown as Pod;
  const env = await resolveEnv(pod, {
    name: "c",
    env: [
      { name: "REDIS_MASTER_SERVICE_PORT", value: "1" },
      { name: "URL", value: "redis://$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT)" },
    ],
  }, {
    reader: {
      getConfigMap: () => Promise.resolve(undefined),
      getSecret: () => Promise.resolve(undefined),
      getPersistentVolumeClaim: () => Promise.resolve(undefined),
      getPersistentVolume: () => Promise.resolve(undefined),
    },
    facts: { nodeName: "n", hostIP: "h", podIP: "p" },
    serviceEnv: serviceEnvVars([redis]),
  });
  const m = new Map(env);
  deepStrictEqual(env.slice(0, 2), [["REDIS_MASTER_SERVICE_PORT", "1"], [
    "URL",
    "redis://10.43.0.20:1",
  ]]);
  deepStrictEqual(m.get("REDIS_MASTER_SERVICE_HOST"), "10.43.0.20");
  deepStrictEqual(env.filter(([k]) => k === "REDIS_MASTER_SERVICE_PORT").length, 1);
});
