import { defineConfig } from "vitest/config";

// End-to-end tests: Debian's chromium, driven by playwright-core, against a real
// `campus serve` on port 0 filled by `campus demo` (see server.ts).
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    globalSetup: ["e2e/server.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
