// Measures "click Deploy to `running` seen by the browser": the agent page
// of a published JavaScript agent, the Deploy button pressed, and the time
// until the deploy badge shows `running`, both read in the page
// (`performance.now()` at the click and when the badge changes). Each
// deploy is a new deployment; the page is loaded fresh for each.
//
//   node end2end/deploy_bench.mjs [deploys]   (release server, built SPA)

import { Server, freePort, launchBrowser, makeDataDir, removeDataDir, serverBin } from "./harness.mjs";
import { ECHO, publishAgent, signUp, watchBadge } from "./agents.mjs";

const deploys = Number(process.argv[2] ?? 30);

const dataDir = makeDataDir();
const server = new Server(dataDir, await freePort());
await server.start();
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext()).newPage();
  await signUp(page, server, "Bench Mark", "bench@example.com");
  const slug = await publishAgent(page, server.url, "Bench Bot", ECHO);
  const times = [];
  const steps = [];
  // One untimed deploy first: the script is prepared once per content hash.
  for (let i = 0; i <= deploys; i++) {
    await page.goto(`${server.url}/agents/${slug}`);
    await page.getByTestId("deploy").waitFor();
    await watchBadge(page);
    await page.getByTestId("deploy").click();
    await page.locator('[data-testid="deploy-progress"] [data-status="running"]').first().waitFor();
    const badges = await page.evaluate(() => window.__badges);
    if (i > 0) {
      times.push(badges.at(-1).ms);
      steps.push(badges.map((b) => b.status).join(">"));
    }
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const all = new Set(steps);
  console.log(`server: ${serverBin}`);
  console.log(`deploys: ${times.length}; badge sequences seen: ${[...all].join(", ")}`);
  console.log(
    `click → running in the browser (ms): p50 ${at(0.5).toFixed(1)}, p90 ${at(0.9).toFixed(1)}, ` +
    `max ${times.at(-1).toFixed(1)}, min ${times[0].toFixed(1)}`,
  );
} finally {
  await browser.close();
  await server.stop();
  removeDataDir(dataDir);
}
