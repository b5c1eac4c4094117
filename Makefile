# Vigil — run `make help` for the targets.
SHELL := /bin/bash
GO    ?= go
BIN   ?= bin/vigil
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: run
run: ## run Vigil on the embedded SQLite default (ARGS="--dev" for development mode)
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/vigil serve $(ARGS)

.PHONY: test
test: e2e-deps ## run the whole suite against SQLite and PostgreSQL (VIGIL_TEST_DATABASE_URL, default local)
	$(GO) test -count=1 ./...

.PHONY: build
build: ## build the vigil binary into bin/
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vigil

.PHONY: generate
generate: ## regenerate ent, then gqlgen
	$(GO) run -mod=mod ./ent/entc.go
	$(GO) tool gqlgen generate

.PHONY: verify
verify: generate ## fail when generated code (ent, gqlgen) is stale
	@if [ -n "$$(git status --porcelain -- ent graph gqlgen.yml)" ]; then \
		echo "generated code is stale; run 'make generate' and commit:"; \
		git status --short -- ent graph gqlgen.yml; exit 1; fi

.PHONY: lint
lint: ## gofmt, go vet and staticcheck (generated packages are not staticchecked)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck $$($(GO) list ./... | grep -vE '/vigil/(ent|graph/generated)(/|$$)')

.PHONY: migration
migration: ## write a new schema migration for both databases from the ent schema: make migration name=add_alerts
	@test -n "$(name)" || { echo "usage: make migration name=short_snake_case_name"; exit 2; }
	$(GO) run ./internal/database/migrategen -name $(name)

.PHONY: bench
bench: ## run the benchmarks, one package at a time (pipeline figures against their baselines: internal/server, internal/detect)
	$(GO) test -p 1 -run '^$$' -bench . -benchmem ./...

.PHONY: e2e-deps
e2e-deps: # npm packages of the end-to-end tests (graphql-http audit); they report loudly when missing
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "*** npm not found: the end-to-end tests that use Node will not run (install Node.js)"; \
	elif [ ! -f e2e/node_modules/.package-lock.json ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then \
		cd e2e && npm ci --no-audit --no-fund --loglevel=error; \
	fi

.PHONY: clean
clean: ## remove build output (keeps vigil-data)
	rm -rf bin
