/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a server
 * with two agents. Signs in with a token, sees both nodes, watches pods of a Deployment created
 * with kubectl appear without a reload, reads a pod's streaming log, and checks that a view
 * token gets no delete button and no Secrets. Screenshots (desktop and phone widths, light and
 * dark) are written to .cache/test-artifacts/dashboard/.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./cluster.ts";
import { haveKubectl } from "./kubectl.ts";
import { kubectlOk } from "./kubectl_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../.cache/test-artifacts/dashboard/", import.meta.url).pathname;
const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/**
 * `page.goto`, again when Chromium aborted it with ERR_NETWORK_CHANGED: tests running beside this
 * one add and remove network namespaces, veths and addresses, and Chromium aborts navigations on
 * every such change of the host's network.
 */
async function gotoSteady(page: { goto(url: string): Promise<unknown> }, url: string) {
  for (let attempt = 1;; attempt++) {
    try {
      return await page.goto(url);
    } catch (e) {
      if (attempt >= 10 || !String(e).includes("ERR_NETWORK_CHANGED")) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

async function createToken(dataDir: string, role: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN_TS, "token", "create", "--role", role, "--data-dir", dataDir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "the dashboard shows the cluster live in Chromium, as each token's role allows",
  ignore: !haveChromium() || !haveKubectl(),
  async fn() {
    const { chromium } = await import("playwright-core");
    const cluster = await startTestCluster({ nodeAddresses: ["127.0.0.11", "127.0.0.12"] });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const url = `${cluster.server.url}/dashboard/`;
    try {
      const k = cluster.kubectl;
      const image = cluster.images.busybox;
      await kubectlOk(k, ["create", "secret", "generic", "db-pass", "--from-literal=p=x"]);
      await kubectlOk(k, [
        "run",
        "logger",
        `--image=${image}`,
        "--",
        "sh",
        "-c",
        "i=0; while true; do echo line-$i; i=$((i+1)); sleep 1; done",
      ]);

      const desktop = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1280, height: 860 },
      });
      const page = await desktop.newPage();
      await gotoSteady(page, url);
      await page.fill("#token", cluster.server.token);
      await page.click("#signin button[type=submit]");
      await page.waitForFunction(() => document.querySelectorAll(".card.node").length === 2);
      for (const n of cluster.nodes) {
        assert.ok(await page.isVisible(`.card.node[data-node="${n.name}"]`), n.name);
      }
      assert.ok((await page.textContent(".card.node .pill")) === "Ready");

      // Live: a Deployment created with kubectl shows its pods without a reload.
      await page.click('nav a[href="#/pods"]');
      await page.waitForSelector('tr[data-name="logger"]');
      await page.evaluate(() => (window as unknown as { marker: number }).marker = 42);
      await kubectlOk(k, [
        "create",
        "deployment",
        "web",
        `--image=${image}`,
        "--replicas=2",
        "--",
        "sleep",
        "3600",
      ]);
      await page.waitForFunction(
        () => document.querySelectorAll('tr[data-name^="web-"]').length === 2,
        undefined,
        { timeout: 60_000 },
      ).catch(async (e) => {
        const pods = await kubectlOk(k, ["get", "pods", "-o", "wide"]);
        throw new Error(`${e.message}\npods:\n${pods}\npage:\n${await page.textContent("main")}`);
      });
      assert.equal(
        await page.evaluate(() => (window as unknown as { marker: number }).marker),
        42,
        "no reload happened",
      );
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('tr[data-name^="web-"]')]
            .every((tr) => tr.textContent?.includes("Running")),
        undefined,
        { timeout: 60_000 },
      );

      // Workloads show the Deployment's rollout columns.
      await page.click('nav a[href="#/workloads"]');
      await page.waitForFunction(
        () => document.querySelector('tr[data-name="web"]')?.textContent?.includes("2/2"),
        undefined,
        { timeout: 30_000 },
      );

      // The pod page streams the log and offers Delete to an admin.
      await gotoSteady(page, `${url}#/pod/default/logger`);
      await page.waitForFunction(
        () => /line-2\b/.test(document.getElementById("logs")?.textContent ?? ""),
        undefined,
        { timeout: 30_000 },
      );
      assert.ok(await page.isVisible("#delete-pod"), "an admin may delete");
      await page.click('nav a[href="#/config"]');
      await page.waitForSelector('tr[data-name="db-pass"]');

      await page.click('nav a[href="#/overview"]');
      // Node usage sparklines, from the server's history of node metrics.
      await page.waitForFunction(
        () => document.querySelectorAll(".card.node svg.spark").length === 4,
        undefined,
        { timeout: 120_000 },
      );
      await page.screenshot({ path: `${ARTIFACTS}overview-desktop.png`, fullPage: true });
      await desktop.close();

      // A view token: same pages, no Secrets, no delete button; on a phone, in dark mode.
      const viewToken = await createToken(cluster.server.dataDir, "view");
      const phone = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 360, height: 740 },
        colorScheme: "dark",
      });
      const small = await phone.newPage();
      await gotoSteady(small, url);
      await small.fill("#token", viewToken);
      await small.click("#signin button[type=submit]");
      await small.waitForFunction(() => document.querySelectorAll(".card.node").length === 2);
      await small.screenshot({ path: `${ARTIFACTS}overview-phone-dark.png`, fullPage: true });
      const width = await small.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `the overview fits a 360 px screen (scrollWidth ${width})`);
      await gotoSteady(small, `${url}#/pod/default/logger`);
      await small.waitForFunction(
        () => /line-\d/.test(document.getElementById("logs")?.textContent ?? ""),
        undefined,
        { timeout: 30_000 },
      );
      assert.equal(await small.$("#delete-pod"), null, "a view token gets no delete button");
      await gotoSteady(small, `${url}#/config`);
      await small.waitForFunction(() =>
        document.getElementById("main")?.textContent?.includes("Your token may not list these.")
      );
      assert.equal(await small.$('tr[data-name="db-pass"]'), null, "no Secrets for view");
      await gotoSteady(small, `${url}#/pods`);
      await small.waitForSelector('tr[data-name="logger"]');
      await small.screenshot({ path: `${ARTIFACTS}pods-phone-dark.png`, fullPage: true });
      await phone.close();
    } finally {
      await browser.close();
      await cluster.stop();
    }
  },
});

Deno.test("the dashboard's assets are public, self-contained and small", async () => {
  const { dashboardPageWeight } = await import("../server/dashboard/mod.ts");
  const cluster = await startTestCluster({ nodeAddresses: [] });
  try {
    const get = (path: string) =>
      fetch(`${cluster.server.url}${path}`, { client: cluster.server.httpClient });
    const html = await get("/dashboard/");
    assert.equal(html.status, 200);
    const text = await html.text();
    assert.ok(!/https?:\/\//.test(text.replace(/<p>[\s\S]*?<\/p>/g, "")), "no external URLs");
    assert.ok(html.headers.get("content-security-policy")?.includes("default-src 'self'"));
    const js = await get("/dashboard/app.js");
    const etag = js.headers.get("etag")!;
    await js.body?.cancel();
    const again = await fetch(`${cluster.server.url}/dashboard/app.js`, {
      client: cluster.server.httpClient,
      headers: { "if-none-match": etag },
    });
    assert.equal(again.status, 304);
    await again.body?.cancel();
    const weight = await dashboardPageWeight();
    assert.ok(weight < 150_000, `first load ${weight} bytes`);
    const api = await get("/api/v1/secrets");
    assert.equal(api.status, 401, "the API itself still needs a token");
    await api.body?.cancel();
  } finally {
    await cluster.stop();
  }
});
