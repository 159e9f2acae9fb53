# maildock: `make run` starts the server on the loopback-only development
# default; `make test` installs what the tests need and runs them all.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Tools the end-to-end tests drive maildock with: command, or
# command:Debian package where the names differ.
TEST_TOOLS := curl python3 openssl fetchmail mbsync:isync

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all build run test test-deps vet cross unit fuzz-smoke bench imaptest install clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/maildock ./cmd/maildock

run: build
	./bin/maildock serve

test: test-deps vet cross unit fuzz-smoke

# Installs the independent clients the tests use, only when missing.
test-deps:
	@missing=""; for t in $(TEST_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t##*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# The Windows binary must build (admins try it before moving to a Linux VM).
cross:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/maildock

unit:
	$(GO) test -race -timeout 15m ./...

# A few seconds of every fuzz target, on top of their seed corpora (which
# `unit` already runs as tests).
fuzz-smoke:
	./scripts/fuzz-smoke 5s

bench:
	./scripts/bench

# Dovecot's imaptest compliance suite against the built binary (needs the
# network and dovecot-dev; see docs/IMAP.md). Not part of `test`.
imaptest:
	./scripts/imaptest

# Installs the binary, the systemd unit, an example config (never over an
# existing one) and the docs; creates the maildock user when run as root on
# the target machine (not with DESTDIR).
install: build
	install -D -m 0755 bin/maildock $(DESTDIR)$(PREFIX)/bin/maildock
	install -D -m 0644 configs/maildock.service $(DESTDIR)/etc/systemd/system/maildock.service
	install -d -m 0750 $(DESTDIR)/etc/maildock
	test -e $(DESTDIR)/etc/maildock/maildock.toml || install -m 0640 configs/maildock.example.toml $(DESTDIR)/etc/maildock/maildock.toml
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/maildock README.md docs/*.md
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		id maildock >/dev/null 2>&1 || useradd --system --home-dir /var/lib/maildock --shell /usr/sbin/nologin maildock; \
		chgrp maildock /etc/maildock /etc/maildock/maildock.toml; \
		echo "installed; edit /etc/maildock/maildock.toml, check it with: maildock check --config /etc/maildock/maildock.toml"; \
		echo "then: systemctl daemon-reload && systemctl enable --now maildock"; \
	fi

clean:
	rm -rf bin
