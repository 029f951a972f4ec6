# vtepgw — see README.md. The two commands that matter:
#   make demo   the main job on an embedded default (no packages needed)
#   make test   unit + end-to-end tests (installs Debian's OVS/OVN packages if missing)

GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/vtepgw/vtepgw/cmd/vtepgw/app.Version=$(VERSION)
# End-to-end tests need the real stack; in CI a missing binary is a failure.
export VTEPGW_REQUIRE_REAL ?= 1

.PHONY: all build demo test unit deps lint bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/vtepgw ./cmd/vtepgw
	@if [ -d cmd/vtepsim ]; then $(GO) build -o bin/vtepsim ./cmd/vtepsim; fi

demo:
	$(GO) run ./cmd/vtepgw-demo

deps:
	bash hack/install-deps.sh

# The suite: race detector on, every package, real ovsdb-server/northd peers;
# then the vendor-driver example, its own module (./... skips nested modules).
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...
	cd examples/vendordriver && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 10m ./...

# Unit tests only (no Debian packages needed).
unit:
	VTEPGW_REQUIRE_REAL=0 $(GO) test -short -count=1 ./vtep/... ./drivers/ ./internal/... ./cmd/vtepgw/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd examples/vendordriver && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# Side-by-side benchmarks against the Debian reference peers. Each program
# writes its report with the machine it ran on.
bench: deps build
	$(GO) run ./testbed/bench -out docs/BENCHMARKS.md
	$(GO) run ./testbed/bench/learning -vtepgw bin/vtepgw -out docs/BENCHMARKS.md
	$(GO) run ./testbed/bench/drivers -out docs/BENCHMARKS.md
	$(GO) run ./simulator/bench -out docs/BENCHMARKS.md

clean:
	rm -rf bin
