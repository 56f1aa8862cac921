import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
    // The CLI tests spawn the built bundle; the suite runs after `npm run build`.
    testTimeout: 30_000,
  },
});
