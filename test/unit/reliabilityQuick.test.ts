// The quick part of the reliability tier (test/reliability) also runs with the unit tests, so
// `npm test` catches its regressions: upstream/client faults with leak counting (in-process, ~5 s)
// and the secrets and network checks through the real CLI process (~4 s with the CLI bundle).
// The rest (bad input with 30 MB bodies and socket fuzzing, disk full, SIGKILL, 1,000 streams,
// the soak) takes minutes and runs with `npm run test:chaos`.
import '../reliability/faults.test';
import '../reliability/security.test';
