# KubeSpace — see README.md. Every target installs what it needs and is missing.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BINARIES := $(notdir $(wildcard cmd/*))
PORT ?= 8080
DATA_DIR ?= ./data

.PHONY: build ui run test test-go test-ui lint bench bench-pipelines demo kube-testenv clean

## build: the console (ui/dist) and every binary under cmd/ into bin/, statically (CGO_ENABLED=0)
build: ui
	@mkdir -p bin
	@for b in $(BINARIES); do \
	  echo "go build $$b"; \
	  CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/$$b ./cmd/$$b || exit 1; \
	done

## ui: build the web console into ui/dist (embedded by the server)
ui:
	@hack/deps.sh node
	@cd ui && npm run build --silent

## run: build and start the whole platform on the embedded default (SQLite + in-process bus)
run: build
	PORT=$(PORT) DATA_DIR=$(DATA_DIR) bin/server

## test: every test — Go (race, real MariaDB/Redis/Kubernetes), the console in Chromium, the chart on a test cluster, the server image; skips fail
test: lint kube-testenv
	@hack/deps.sh mariadb redis git chromium node
	@hack/gotest.sh
	@$(MAKE) --no-print-directory test-ui
	@$(MAKE) --no-print-directory chart-test
	@$(MAKE) --no-print-directory images

## test-go: the Go tests only
test-go: kube-testenv
	@hack/deps.sh mariadb redis git
	@hack/gotest.sh

## kube-testenv: build (once, cached outside the repo) the Kubernetes test environment
kube-testenv:
	@hack/kube-testenv.sh build

## bench: cached cluster lists vs. the API server and kubectl with 10,000 pods, and pipelines (writes docs/benchmarks.md)
bench: kube-testenv
	go run ./hack/bench

## bench-pipelines: only the pipeline table (MariaDB and Redis, separate binaries; a few minutes)
bench-pipelines:
	go run ./hack/bench -only pipelines

## demo: a test cluster with sample workloads, imported into the KubeSpace at KUBESPACE_URL
demo: kube-testenv
	@hack/demo.sh

## test-ui: build the console and the server, then run the browser tests against it; skips fail
test-ui: build
	@hack/deps.sh chromium node
	@KUBESPACE_REQUIRE_ALL=1 ui/e2e/run.sh bin/server

## lint: gofmt, go vet and the import rules
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@go vet ./...
	@go test -count=1 ./internal/archtest

clean:
	rm -rf bin ui/dist/assets ui/dist/index.html

# --- Images and chart (build/, chart/) --------------------------------------------------------
.PHONY: images chart-test

## images: build bin/ then one image per build/<binary>/Dockerfile with buildah (kubespace/<binary>:VERSION, store in $KUBESPACE_CACHE/buildah), then smoke-test the server image
images: build
	@build/images.sh $(VERSION)
	@build/smoke.sh $(VERSION)

## chart-test: helm lint/template the chart and install/upgrade/uninstall it on a kwok test cluster
chart-test: kube-testenv
	@chart/test.sh
