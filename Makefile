# Leifeng Station — build, test, demo.
#
#   make demo    run the whole system on embedded defaults
#   make test    run every test (private Mosquitto and PostgreSQL are started
#                by the tests themselves; `make deps` installs them)
#   make test-scale  the long runs: a PostgreSQL pair failing over under load
#   make bench   the benchmarks of the record path and the reader
#   make test-scale  the long runs: 200 kiosks on a three-node NATS cluster, nodes and gateways killed
#   make bench-scale  10,000 simulated stations for 10 minutes per deployment (STATIONS=, DURATION=)
#   make build   build the binaries into bin/, stamped with VERSION and REVISION
#   make cross   kiosks for the Pi: headless without cgo (bin/linux-arm64/, -armv7/, -armv6/), touchscreen (bin/linux-arm64-ui/)
#   make deps    install the Debian packages a fresh machine lacks

GO        ?= go
BIN       := bin
BINARIES  := leifeng-cloud leifeng-kiosk leifeng-card leifeng-traffic leifeng-firmware
# Every binary prints these with --version and the kiosk reports them in
# its state (package internal/buildinfo). Outside a git checkout they are
# empty and the binary falls back to what the Go toolchain recorded.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
# Rows of the history-import benchmark in `make bench` (issue 12's figure).
RECORDS_ROWS ?= 1000000
# The issue-sized runs of make bench (smaller: make bench TAPS=20000
# TARGET_RECORDS=1000000): 1,000,000 taps through the hours pass; the
# plan's figures over 1,000,000 then 10,000,000 service records.
TAPS ?= 1000000
TARGET_RECORDS ?= 1000000,10000000
LDFLAGS   := -X leifeng/internal/buildinfo.version=$(VERSION) -X leifeng/internal/buildinfo.revision=$(REVISION)
# Debian packages the build, the tests and the demo use: the brokers and
# database the integration tests start privately; a C compiler and the X11/GL
# headers for the kiosk's Fyne window (cgo); Xvfb, ImageMagick and zbar for
# the kiosk's screenshot and QR tests; Chromium for the console's browser
# test; fonts-noto-cjk, the CJK font a Pi kiosk may have installed, for the
# kiosk's font tests (regenerating the bundled subset also needs fonttools);
# for the road onto a Pi: qemu to run the ARM builds, the arm64 C cross
# compiler and X11/GL libraries for the touchscreen kiosk's cross-build,
# and the tools that build and read back the A/B image and check the setup
# script (deploy/pi, deploy/image); nats-server for the province's
# three-node JetStream cluster the tests start privately; pg_auto_failover
# for the province's PostgreSQL pair and its failover test (deploy/province);
# spin, which checks the record path's protocol model (gateway/ingest/model);
# poppler-utils (pdftotext, pdftoppm) to read the certificates' PDFs back in
# their tests, whose QR codes zbar-tools reads (regenerating their bundled
# font, cloud/certificate/font/make-font.sh, also needs fonttools).
DEB_PKGS  := mosquitto nats-server postgresql gcc xorg-dev libgl1-mesa-dev:amd64 xvfb imagemagick zbar-tools poppler-utils chromium fonts-noto-cjk \
             qemu-user-static dosfstools mtools fdisk e2fsprogs shellcheck gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
             libgl1-mesa-dev:arm64 libx11-dev:arm64 libxcursor-dev:arm64 libxrandr-dev:arm64 libxinerama-dev:arm64 \
             libxi-dev:arm64 libxxf86vm-dev:arm64 pg-auto-failover-cli postgresql-15-auto-failover spin
SUDO      := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo))

.PHONY: all build cross ldflags test test-scale bench bench-scale demo deps vet clean check-deps

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/leifeng-cloud ./cloud/cmd/leifeng-cloud
	@# no_emoji leaves out Fyne's 4 MB colour emoji font, which the kiosk never
	@# shows and Fyne would load once per text style (18 MB measured).
	$(GO) build -ldflags "$(LDFLAGS)" -tags no_emoji -o $(BIN)/leifeng-kiosk ./kiosk/cmd/leifeng-kiosk
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/leifeng-traffic ./kiosk/cmd/leifeng-traffic
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/leifeng-card ./reader/cmd/leifeng-card
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/leifeng-firmware ./firmware/cmd/leifeng-firmware

# The touchscreen needs cgo (Fyne, OpenGL); without it the kiosk is the
# headless station, which cross-builds with no C toolchain: a Pi 3/4/5 or
# Zero 2 W on 64-bit Raspberry Pi OS, a Pi 2/3 on 32-bit (ARMv7) and a Pi
# Zero W / 1 (ARMv6). The touchscreen kiosk for arm64 needs Debian's cross
# compiler and the arm64 X11/GL libraries (make deps installs them).
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/linux-arm64/ ./kiosk/cmd/leifeng-kiosk ./firmware/cmd/leifeng-firmware
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/linux-armv7/ ./kiosk/cmd/leifeng-kiosk ./firmware/cmd/leifeng-firmware
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/linux-armv6/ ./kiosk/cmd/leifeng-kiosk ./firmware/cmd/leifeng-firmware
	CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc GOOS=linux GOARCH=arm64 $(GO) build -ldflags "$(LDFLAGS)" -tags no_emoji -o $(BIN)/linux-arm64-ui/ ./kiosk/cmd/leifeng-kiosk

# The version stamp of `make build`, for tests that build the binaries
# themselves (deploy/e2e, internal/buildcheck).
ldflags:
	@echo '$(LDFLAGS)'

vet:
	$(GO) vet ./...

# Lists what a fresh machine lacks, with the line that installs it.
check-deps:
	@missing=""; \
	for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make: missing Debian packages:$$missing"; \
	  echo "make: install them with: make deps   (or: sudo apt-get install -y$$missing)"; \
	  echo "make: tests that need them will skip and say so"; \
	fi

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
	  echo "deps: run as root, or run: dpkg --add-architecture arm64; apt-get update; apt-get install -y$$missing"; exit 1; fi; \
	dpkg --print-foreign-architectures | grep -qx arm64 || $(SUDO) dpkg --add-architecture arm64; \
	$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing

test: check-deps vet
	$(GO) test -count=1 -timeout 20m ./...

# The long runs of issue 16 (the province), which `make test` runs short:
# 200 kiosks on three NATS nodes with two gateways, a node and a gateway
# killed -9 and brought back (LEIFENG_TEST_SCALE=1); the PostgreSQL pair
# failing over twice under 100 kiosks (build tag "scale"). (bench-scale,
# the 10,000-station load, is its own target.)
test-scale: check-deps
	LEIFENG_TEST_SCALE=1 $(GO) test -count=1 -timeout 30m -run 'TestNATS' -v ./deploy/e2e/
	$(GO) test -count=1 -tags scale -run 'Scale' -timeout 30m ./deploy/province/postgres/

# Ratios matter more than absolute figures on a shared machine: each line
# runs the cases it compares side by side in one process.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkOutbox' ./kiosk/store/
	$(GO) test -run '^$$' -bench . -skip 'BenchmarkScale' -benchtime 1x -timeout 20m ./deploy/e2e/
	$(GO) test -run '^$$' -bench . -skip 'BenchmarkIngestPartitioned' ./cloud/store/
	$(GO) test -run '^$$' -bench 'BenchmarkIngestPartitioned' -benchtime 100x ./cloud/store/
	$(GO) test -run '^$$' -bench 'BenchmarkScopedRead' ./cloud/api/
	$(GO) test -run '^$$' -bench 'BenchmarkTap' -benchtime 50x ./reader/
	$(GO) test -run '^$$' -bench . -benchtime 200x ./kiosk/ui/
	$(GO) test -run '^$$' -bench 'BenchmarkHeadlessMemory' -benchtime 1x ./internal/buildcheck/
	$(GO) test -run '^$$' -bench 'BenchmarkUpdate20MB' -benchtime 1x ./kiosk/update/
	# Volunteer import: 100,000-row XLSX, rows/s and peak RSS of the importing
	# process (LEIFENG_BENCH_XLSX_ROWS to change). Volunteer search at 500,000
	# volunteers on PostgreSQL is BenchmarkSearchVolunteers in ./cloud/store/
	# above (LEIFENG_BENCH_VOLUNTEERS to change).
	$(GO) test -run '^$$' -bench . -benchtime 1x ./cloud/people/
	# A certificate of service (志愿服务证明): records to PDF bytes.
	$(GO) test -run '^$$' -bench 'BenchmarkPDF' -benchtime 20x ./cloud/certificate/
	# History import (issue 12): 1,000,000 service records from CSV into SQLite
	# and PostgreSQL side by side, records/s and peak RSS of the importing
	# process (target 200 MB); RECORDS_ROWS= to change (the test's own default
	# is 20,000).
	LEIFENG_BENCH_RECORDS_ROWS=$(RECORDS_ROWS) $(GO) test -run '^$$' -bench 'BenchmarkImportRecords' -benchtime 1x -timeout 60m ./cloud/history/
	# Hours pass (issue 12): tap records into service records under the hour
	# rules, taps/s and records/s, then the recount of one volunteer after a
	# rule change (recount_ms); SQLite and PostgreSQL side by side.
	# TAPS= (above; the test's own default is 20,000),
	# LEIFENG_BENCH_HOURS_DB=sqlite|postgres for one of them.
	LEIFENG_BENCH_TAPS=$(TAPS) $(GO) test -run '^$$' -bench 'BenchmarkHoursPass' -benchtime 1x -timeout 90m ./cloud/hours/
	# Service-record export, XLSX (stream writer) beside CSV: records/s and
	# heap (LEIFENG_BENCH_EXPORT_ROWS, default 20,000).
	$(GO) test -run '^$$' -bench 'BenchmarkExportRecords' -benchtime 1x ./cloud/export/
	# The plan's figures (issue 14): GET /api/v1/targets for the city and a
	# county on PostgreSQL, cold and warm, over generated records
	# (TARGET_RECORDS= above, sizes side by side; the test's own default is
	# 20,000; LEIFENG_BENCH_DROP_CACHES=1, as root, drops the page cache
	# before each cold request).
	LEIFENG_BENCH_TARGET_RECORDS=$(TARGET_RECORDS) $(GO) test -run '^$$' -bench 'BenchmarkTargetsAPI' -benchtime 20x -timeout 100m ./cloud/api/

demo: build
	@bash deploy/demo.sh

clean:
	rm -rf $(BIN) .demo

# The province-scale measurement (issue 16), which CI does not run: a day of
# STATIONS simulated stations in DURATION per side, then a reconnect storm,
# side by side against each deployment. `make bench-scale STATIONS=500
# DURATION=1m` is the short run.
STATIONS  ?= 10000
DURATION  ?= 10m
bench-scale:
	$(GO) test -run '^$$' -bench 'BenchmarkScale' -benchtime 1x -timeout 120m ./deploy/e2e/ -scale.stations $(STATIONS) -scale.duration $(DURATION)
