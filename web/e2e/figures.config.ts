import { defineConfig } from "vitest/config";

// The dashboard's figures for BENCHMARKS.md (`make web-figures`): measured, never asserted
// against a clock.
export default defineConfig({
  test: {
    include: ["e2e/figures.measure.ts"],
    globalSetup: ["e2e/server.ts"],
    environment: "node",
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
