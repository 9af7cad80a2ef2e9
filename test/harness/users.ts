// The test accounts every harness server knows (same names and passwords everywhere).
// carol's password has a space, a quote, an '@' and non-ASCII on purpose.
export const USERS: Readonly<Record<string, string>> = Object.freeze({
  alice: 'alice-secret',
  bob: 'bob-secret',
  'carol@example.test': 'p@ss w0rd"é',
});
