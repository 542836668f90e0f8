# spendsync: build, test, demo, bench.
GO ?= go
BIN ?= bin/spendsync
DEMO_OUT ?= $(CURDIR)/demo-out

.PHONY: build deps test test-windows demo bench bench-1m lint windows man fuzz crash clean
FUZZTIME ?= 30s

# The version and commit, stamped into the binary: the build info has no
# commit where builds run with -buildvcs=false (GOFLAGS) or without .git.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS = -X main.stampedVersion=$(VERSION) -X main.stampedCommit=$(COMMIT)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/spendsync

# All tests, against a real SQLite file and (for transport) a real sshd,
# including the slow end-to-end ones (SPENDSYNC_SLOW=1: crash loop, hostile
# inputs, SFTP faults, generated inputs). The whole suite takes about 2.5
# minutes on an idle 2-core machine but took 12m50s on a heavily loaded
# one, past go test's default 10m: hence the timeout.
# It says first which of the Debian packages the tests use are missing,
# and at the end which tests skipped for lack of them.
SKIPPED ?= $(CURDIR)/.test-skipped
test:
	@bash .ci/deps --check
	$(GO) vet ./...
	@rm -f $(SKIPPED)
	@SPENDSYNC_SKIPPED=$(SKIPPED) SPENDSYNC_SLOW=1 SPENDSYNC_CHECK_INDEX_COPY=1 $(GO) test -count=1 -timeout 40m ./...; status=$$?; \
	if [ -s $(SKIPPED) ]; then echo "make test: skipped for lack of a tool (make deps installs them):"; sort -u $(SKIPPED) | sed 's/^/  /'; fi; \
	rm -f $(SKIPPED); exit $$status

# The Debian packages the tests use (openssh-server, sqlite3, ProFTPD
# mod_sftp, rclone, systemd-analyze), with apt-get, and the Debian 13 root
# with Wine that make test-windows uses: run it as root once on a fresh
# machine.
deps:
	bash .ci/deps
	bash .ci/windows --root-only

# Build and run the main job (ingest, export, deliver) on the bundled demo
# data; everything lands in demo-out/ (the drop is a local folder).
demo: build
	rm -rf $(DEMO_OUT)
	SPENDSYNC_DEMO_OUT=$(DEMO_OUT) ./$(BIN) --config testdata/demo/spendsync.yaml --log-format text run
	@echo "dump: $(DEMO_OUT)/out/  delivered: $(DEMO_OUT)/drop/  state: $(DEMO_OUT)/spendsync.db"

# 100k persons / 150k contracts, generated: every step of the daily cycle as
# a child process, time and peak RSS beside sqlite3 .import of the same
# files in the same run (docs/performance.md); then 200 tenants of 500
# persons, one run after the other, as on a service provider's box.
# bench-1m: 1M persons, slow.
bench:
	$(GO) run ./cmd/spendsync-bench -persons 100000
	$(GO) run ./cmd/spendsync-bench -tenants 200 -persons 500
	$(GO) run ./cmd/spendsync-bench -report -persons 10000
	$(GO) test -run '^$$' -bench Ingest100kPullVsCSV -benchmem -benchtime 2x -timeout 30m ./cmd/spendsync/

bench-1m:
	$(GO) run ./cmd/spendsync-bench -persons 1000000

# Each fuzz target for FUZZTIME (a duration such as 30s, or a count of runs
# such as 30000x, which CI uses: a duration can end in a spurious "context
# deadline exceeded" on Go 1.26, golang/go#75804); crashers land in
# testdata/fuzz and become regression tests.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./connector
	$(GO) test -run '^$$' -fuzz '^FuzzParseDate$$' -fuzztime $(FUZZTIME) ./connector
	$(GO) test -run '^$$' -fuzz '^FuzzName$$' -fuzztime $(FUZZTIME) ./export
	$(GO) test -run '^$$' -fuzz '^FuzzConfig$$' -fuzztime $(FUZZTIME) ./cmd/spendsync

# The SIGKILL crash loop alone (it also runs in make test); KILLS per loop
# (folder, SFTP, and folder with exports that copy most persons' lines).
crash:
	SPENDSYNC_SLOW=1 SPENDSYNC_CRASH_KILLS=$(or $(KILLS),50) $(GO) test -count=1 -run '^TestCrashLoop$$' -v -timeout 30m ./cmd/spendsync

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	staticcheck ./...

# The Windows binary. Offline once `go mod download` has run: go.mod
# lists every module the Windows build needs (cobra's mousetrap too).
windows:
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/spendsync.exe ./cmd/spendsync

# The suite built for Windows and run under Wine 10 in a Debian 13 root
# (.ci/windows: needs root; the root is cached in
# /var/cache/spendsync-ci/trixie-wine, built on first use).
test-windows:
	bash .ci/windows

# Man pages for every command, from the commands' own help.
man:
	$(GO) run ./cmd/spendsync gen-man man/

clean:
	rm -rf bin man $(DEMO_OUT)
