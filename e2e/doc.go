// Package e2e holds Vigil's end-to-end tests. They build the real vigil
// binary once, run it as a separate process (`vigil serve` on a free port,
// the migrate, tenant and user commands) against both SQLite and PostgreSQL,
// and talk to it only over HTTP, its exit code and its output, as an
// operator or a client would.
//
// The GraphQL over HTTP conformance audit also needs Node.js and the npm
// packages pinned in e2e/package.json (`cd e2e && npm ci`; `make test`
// installs them). Without them that test is skipped locally and fails in CI.
//
// The package has no non-test code; this file only documents it.
package e2e
