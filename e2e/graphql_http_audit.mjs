// Runs every server audit of the graphql-http package (the GraphQL over HTTP
// specification's conformance checks) against one GraphQL endpoint.
//
//   node e2e/graphql_http_audit.mjs http://127.0.0.1:8080/graphql
//
// Prints one line per audit, "<status> <id> <name>[: <reason>]", where status
// is ok, notice (MAY), warn (SHOULD) or error (MUST), and last a JSON summary
// line {"ok":N,"notice":N,"warn":N,"error":N}. Exits 1 if any audit errs, 2 on
// bad usage. An audit that throws something other than an assertion failure
// (a network error, say) counts as an error.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql_http_audit.mjs <graphql endpoint URL>');
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const { id, name, fn } of serverAudits({ url })) {
  let result;
  try {
    result = await fn();
  } catch (err) {
    result = { id, name, status: 'error', reason: `audit failed to run: ${err?.stack ?? err}` };
  }
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  let line = `${result.status} ${id} ${name}`;
  if (result.status !== 'ok') {
    line += `: ${result.reason}`;
    if (result.response) {
      // The response body was consumed by the failed assertion only in some
      // audits; read what is left, if anything.
      let body = '';
      try {
        body = (await result.response.text()).slice(0, 300);
      } catch {
        // already read
      }
      line += ` (got ${result.response.status} ${result.response.headers.get('content-type') ?? '-'}${body ? ' ' + body.trim() : ''})`;
    }
  }
  console.log(line);
}
console.log(JSON.stringify(counts));
process.exit(counts.error > 0 ? 1 : 0);
