// Debian's chromium, headless, driven by playwright-core, on a closed
// network: every host name except 127.0.0.1 and localhost fails to
// resolve, and chromium's own background traffic (updates, sync, metrics,
// safe browsing) is switched off. Shared by e2e.mjs and bench/web_weight.sh.
import { chromium } from 'playwright-core';

export const CLOSED_NETWORK_FLAGS = [
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-client-side-phishing-detection',
  '--disable-features=OptimizationHints,Translate,MediaRouter,AutofillServerCommunication',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-pings',
  '--no-sandbox', // root in CI; the page under test is our own
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.LORE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CLOSED_NETWORK_FLAGS,
  });
}
