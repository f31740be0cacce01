import { defineConfig } from 'vitest/config';

// Tests run as root on a shared machine. Integration tests build their own network
// namespaces; they must not run in parallel with each other in ways that share names,
// so each file picks unique namespace names (see test/helpers/netns.ts).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/fuzz/**/*.test.ts', 'test/native/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
