# Vela. `make help` lists the targets.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin:$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/vela
# Fuzz budgets are counts of inputs, not durations: with a duration, Go 1.26's
# fuzz coordinator can report "context deadline exceeded" at the deadline while
# a worker is mid-input (go.dev/issue/75804, fixed in Go 1.27; seen in CI on a
# trivial target). Longer by hand: make fuzz FUZZTIME=10m (a duration is fine
# where a spurious failure costs nothing).
FUZZTIME ?= 10000x
# Targets whose single executions are slow (Butane + Ignition per machine).
FUZZ_COUNTED ?= FuzzRender
FUZZCOUNT ?= 500x
# Every package test; integration tests need root and start their own
# daemons (dockerd, libvirtd, qemu). In CI (CI set) they never skip.
TEST_TIMEOUT ?= 40m

.PHONY: help deps build test unit fuzz e2e vet lab lab-plan clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

deps: ## install what the build, tests and lab need (apt packages, Go modules)
	@.ci/deps

build: ## build bin/vela
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vela

vet: ## go vet and gofmt
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w on these"; exit 1; }
	go vet ./...

test: deps build vet ## run every test (unit, integration, brief fuzzing, the lab end to end), as CI does
	go test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory e2e

e2e: deps ## the whole appliance end to end: `vela install` of examples/lab.yaml, checks, a VM killed, `vela lab down` (~10 min, TCG)
	go test -tags e2e -count=1 -timeout 35m -run '^TestLabEndToEnd$$' -v ./installer/lab/

unit: ## only the fast tests
	go test -count=1 -short ./...

fuzz: ## run every fuzz target for FUZZTIME inputs (default 10000x; longer by hand: make fuzz FUZZTIME=10m)
	@set -e; for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    t=$(FUZZTIME); case " $(FUZZ_COUNTED) " in *" $$f "*) t=$(FUZZCOUNT);; esac; \
	    echo "fuzz $$pkg $$f ($$t)"; \
	    go test -run '^$$' -fuzz "^$$f$$" -fuzztime $$t $$pkg >/tmp/vela-fuzz.log 2>&1 || { cat /tmp/vela-fuzz.log; exit 1; }; \
	  done; \
	done; echo "fuzz: every target ran $(FUZZTIME) ($(FUZZ_COUNTED): $(FUZZCOUNT)) without failure"

# The lab runs the installer's whole plan; LAB_UNTIL=STEP stops after a step
# (e.g. LAB_UNTIL=join: only the control plane).
LAB_UNTIL ?=

lab: deps build ## run the appliance on this host (examples/lab.yaml); `bin/vela lab down` removes it
	$(BIN) install --config examples/lab.yaml $(if $(LAB_UNTIL),--until $(LAB_UNTIL))
	@echo; echo "bin/vela lab status shows the VMs; bin/vela members ls / hypervisors ls reach the control plane;"; \
	  echo "bin/vela lab down removes everything the lab made."

lab-plan: build ## print the lab's plan without touching anything
	$(BIN) install --config examples/lab.yaml --dry-run

clean: ## remove build output
	rm -rf bin

# Benchmarks: each prints a side-by-side table against its reference from
# the same run (ratios matter; these machines are noisy). Figures and their
# conditions are recorded in docs/benchmarks.md. They need root.
.PHONY: bench-nodes bench-pxe bench-controlplane bench-images bench-lab bench-clusters
bench-nodes: deps ## node create -> dockerd ready, idle memory per node, vs a bare host dockerd
	go run ./bench/nodes -n 20

bench-pxe: deps ## N simulated PXE clients (DHCP, TFTP, HTTP, Ignition) vs dnsmasq + nginx
	go run ./bench/pxe -n 10,100,500,1000

bench-controlplane: deps ## writes through the API at 1/16/64 clients and leader failover, vs etcd 3.4
	go run ./bench/controlplane -duration 10s -kills 10

bench-images: deps ## vela-os/node image build (cold vs cached), sizes, vela-os boot vs a busybox initramfs
	go run ./bench/images

bench-lab: deps ## the whole lab, each milestone timed, vs one vela-os VM booting alone
	go run ./bench/lab

bench-clusters: deps ## cluster create 3 / grow 1 / rm on one hypervisor (real LXC + Swarm), vs raw define+start
	go run ./bench/clusters -n 10

.PHONY: bench-autoscale
bench-autoscale: deps ## reservation crosses 80% -> autoscaled node Ready in Swarm (p50/max), vs an explicit grow
	go run ./bench/autoscale -n 10
