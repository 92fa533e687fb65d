# ospbox — the two commands the README gives are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION ?= 0.1.0-dev
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DESKTOP_TAGS := desktop,production,webkit2_41
BIN := bin/ospbox
DESKTOP_BIN := bin/ospbox-desktop
DEBIAN_DESKTOP_PKGS := libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config xvfb xauth imagemagick xdotool
# A desktop build needs WebKitGTK 4.1 and a display to show the window.
HAVE_WEBKIT := $(shell pkg-config --exists webkit2gtk-4.1 2>/dev/null && echo yes)
HAVE_DISPLAY := $(if $(DISPLAY)$(WAYLAND_DISPLAY),yes,)

.PHONY: help run assets build build-desktop test vet templ-check go-test browser-test examples-test desktop-smoke deps-linux bench measure fmt clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

assets: frontend/node_modules/.package-lock.json ## bundle the UI (htmx, SSE, CSS) into frontend/dist with esbuild
	cd frontend && npm run build

build: assets ## build the browser-mode binary (bin/ospbox)
	go build -ldflags "$(LDFLAGS)" -o $(BIN) .

build-desktop: assets ## build the desktop binary (bin/ospbox-desktop; needs make deps-linux)
	go build -tags $(DESKTOP_TAGS) -ldflags "$(LDFLAGS)" -o $(DESKTOP_BIN) .

run: assets ## build and run ospbox on the default workspace (desktop window when possible)
ifeq ($(HAVE_WEBKIT)$(HAVE_DISPLAY),yesyes)
	@echo "make run: WebKitGTK 4.1 and a display found: building the desktop app"
	go build -tags $(DESKTOP_TAGS) -ldflags "$(LDFLAGS)" -o $(DESKTOP_BIN) .
	./$(DESKTOP_BIN)
else
	@echo "make run: $(if $(HAVE_WEBKIT),no display,no WebKitGTK 4.1 (make deps-linux)): building browser mode"
	go build -ldflags "$(LDFLAGS)" -o $(BIN) .
	./$(BIN) serve
endif

deps-linux: ## install the Debian packages the desktop build needs
	sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends $(DEBIAN_DESKTOP_PKGS)

TEST_STEPS := vet templ-check desktop-smoke browser-test examples-test go-test

# Every step runs even when an earlier one fails, so one failure never hides the others; the
# summary names each step that failed.
test: ## vet, templ drift check, desktop smoke test, browser tests, go tests (race): all of them, then a summary
	@failed=""; for step in $(TEST_STEPS); do \
		echo "== make $$step"; $(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: every step passed ($(TEST_STEPS))"

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...

templ-check: ## fail when generated *_templ.go files are stale
	go tool templ generate
	@git diff --exit-code -- '*_templ.go' || { echo "templ generate changed files: commit them"; exit 1; }

go-test: assets
	go test -race -count=1 ./...

examples-test: build ## the pytest and node --test examples of testing an agent against ospbox (docs/examples)
	OSPBOX_BIN=$(CURDIR)/$(BIN) /usr/bin/python3 -m pytest -q -p no:cacheprovider docs/examples/pytest
	OSPBOX_BIN=$(CURDIR)/$(BIN) node --test docs/examples/node/

browser-test: build ## Playwright (playwright-core) driving Debian's Chromium against the real binary
	cd frontend && OSPBOX_BIN=$(CURDIR)/$(BIN) node --test tests/

screenshots: build ## run the browser tests and keep their screenshots in docs/screenshots (the README's)
	mkdir -p docs/screenshots
	cd frontend && SCREENSHOT_DIR=$(CURDIR)/docs/screenshots OSPBOX_BIN=$(CURDIR)/$(BIN) node --test tests/

desktop-smoke: assets ## build the desktop app, open it under Xvfb, screenshot the window
	@if pkg-config --exists webkit2gtk-4.1 && command -v Xvfb >/dev/null && command -v import >/dev/null && command -v xdotool >/dev/null; then \
		$(MAKE) --no-print-directory build-desktop && scripts/desktop-smoke.sh $(DESKTOP_BIN); \
	else echo "desktop-smoke: skipped (needs libwebkit2gtk-4.1-dev, xvfb, imagemagick and xdotool: make deps-linux)"; fi

bench: ## run the Go benchmarks
	go test -run '^$$' -bench . -benchmem ./...

measure: build ## startup and size figures for the closing note and BENCHMARKS.md
	scripts/measure.sh $(BIN)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin frontend/dist/*.js frontend/dist/*.css frontend/test-results
