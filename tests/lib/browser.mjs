// The browser suites' shared setup: a `wrangler dev` on local state and
// Debian's headless Chromium (through playwright-core), started together
// before the suite's tests and stopped after them; screenshots go to
// tests/artifacts/.
import { after, before } from "node:test";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { startWranglerDev } from "./wrangler-dev.mjs";

/** Where the suites save screenshots and reports (gitignored). */
export const artifacts = new URL("../artifacts/", import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });

/**
 * Registers the suite's `before` and `after`; the returned object's
 * `server` (`url`, `otp(number)`, …) and `browser` are set once `before` ran.
 */
export function browserSuite() {
  const suite = { server: null, browser: null };
  before(async () => {
    [suite.server, suite.browser] = await Promise.all([
      startWranglerDev(),
      chromium.launch({
        executablePath: "/usr/bin/chromium",
        args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
      }),
    ]);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}
