/**
 * What the deployment files promise: every `deno task` and the systemd unit
 * run Deno without its update check, which would otherwise reach dl.deno.land
 * at each start (a Pi on a poor link should not phone home).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { assert } from "./assert.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("every deno task and the systemd unit turn off Deno's update check", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const tasks = Object.entries(config.tasks);
  assert(tasks.length > 0, "deno.json has tasks");
  for (const [name, command] of tasks) {
    // One command gets the variable from its prefix; a chain of them needs it exported.
    const chained = /&&|\|\||;/.test(command);
    const prefix = chained ? "export DENO_NO_UPDATE_CHECK=1 && " : "DENO_NO_UPDATE_CHECK=1 ";
    assert(command.startsWith(prefix), `task ${name} must start with ${JSON.stringify(prefix)}`);
  }
  const unit = await Deno.readTextFile(`${ROOT}scripts/astera.service`);
  assert(
    unit.split("\n").includes("Environment=DENO_NO_UPDATE_CHECK=1"),
    "astera.service sets DENO_NO_UPDATE_CHECK=1",
  );
});
