// Reads iamkit scenarios (shared/scenario-format.md), one JSON object per line, from standard input,
// runs each through @cloud-copilot/iam-simulate, and writes {"id", "decision"} lines in the same order.
// benchmarks/engine.py times this process from start to exit next to `iamkit simulate --jsonl -`.
import { createInterface } from "node:readline";
import { runSimulation } from "@cloud-copilot/iam-simulate";

const DECISIONS = { Allowed: "allowed", ExplicitlyDenied: "explicitDeny", ImplicitlyDenied: "implicitDeny" };

function account(arn) {
  const parts = String(arn).split(":");
  return parts.length > 4 ? parts[4] : "";
}

function simulation(scenario) {
  const r = scenario.request;
  const levels = (list, prefix) =>
    (list || []).map((level, i) => ({
      orgIdentifier: `${prefix}-${i}`,
      policies: level.map((policy, j) => ({ name: `${prefix}-${i}-${j}`, policy })),
    }));
  return {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount || account(r.resource) || account(r.principal) },
      contextVariables: r.context || {},
    },
    identityPolicies: (scenario.identityPolicies || []).map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: levels(scenario.scps, "scp"),
    resourceControlPolicies: levels(scenario.rcps, "rcp"),
    resourcePolicy: scenario.resourcePolicy || undefined,
    permissionBoundaries: scenario.permissionsBoundary
      ? [{ name: "boundary", policy: scenario.permissionsBoundary }] : undefined,
  };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let id = null;
  let decision = null;
  try {
    const scenario = JSON.parse(line);
    id = scenario.id ?? null;
    if (!scenario.sessionPolicy) { // the reference has no session policies yet
      const response = await runSimulation(simulation(scenario), {});
      decision = response.resultType === "error" ? null : DECISIONS[response.overallResult] ?? null;
    }
  } catch {
    decision = null;
  }
  process.stdout.write(JSON.stringify({ id, decision }) + "\n");
}
