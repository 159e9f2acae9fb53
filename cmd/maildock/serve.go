package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/certs"
	"github.com/maildock/maildock/configs"
	"github.com/maildock/maildock/imapserve"
	"github.com/maildock/maildock/imapserve/pop3"
	"github.com/maildock/maildock/inbound"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/metrics"
	"github.com/maildock/maildock/pickup"
	"github.com/maildock/maildock/retention"
)

// shutdownGrace is how long in-flight SMTP transactions get to finish after
// SIGINT/SIGTERM before they are cut off with 421.
const shutdownGrace = 30 * time.Second

func cmdServe(args []string, stderr io.Writer) error {
	fs := newFlags("serve", "[--config FILE]", stderr)
	path := fs.String("config", "", "config file (default: the loopback-only development default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cfg *configs.Config
	if *path == "" {
		cfg = configs.Development()
	} else {
		var err error
		if cfg, err = configs.Load(*path); err != nil {
			fmt.Fprintln(stderr, err)
			return &exitError{code: 1, err: fmt.Errorf("serve: %s is not valid (see above; 'maildock check --config %s' shows the same)", *path, *path)}
		}
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	if *path == "" {
		log.Warn("running the DEVELOPMENT DEFAULT: loopback only, account \"app\" with password \"app\", mail for @app.localhost, data in ./maildock-data; use --config FILE in production")
	}

	// Catch signals before anything starts: "maildock started" tells a
	// supervisor (or a test) it may send SIGTERM, and a signal that arrives
	// before Notify would kill the process with the default action,
	// skipping the graceful stop. Signals during start wait in the channel.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	d, err := start(cfg, log)
	if err != nil {
		return err
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				d.reload(*path)
				continue
			}
			log.Info("stopping: finishing in-flight transactions; a second signal exits at once", "signal", sig.String(), "grace", shutdownGrace)
			go func() {
				for sig := range sigs {
					if sig != syscall.SIGHUP {
						log.Warn("second signal: exiting now", "signal", sig.String())
						os.Exit(1)
					}
				}
			}()
			return d.shutdown(shutdownGrace)
		case err := <-d.fatal:
			log.Error("a listener failed; stopping", "err", err)
			d.shutdown(shutdownGrace)
			return err
		}
	}
}

func newLogger(c configs.LogConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// daemon is the running server: the store and every listener.
type daemon struct {
	log       *slog.Logger
	store     *mailstore.Store
	certs     *certs.Source
	smtp      *inbound.Server
	auth      *auth.Authenticator
	pop3      *pop3.Server
	imap      *imapserve.Server
	registry  *prometheus.Registry
	started   time.Time
	listeners []*listenerState                 // appended by start only
	health    atomic.Pointer[[]*listenerState] // listeners, once all are serving
	retention *retention.Remover
	accounts  atomic.Pointer[[]configs.Account] // for /metrics, replaced on reload
	metrics   *metrics.Metrics
	drop      *pickup.Writer
	stopDrop  context.CancelFunc
	http      *http.Server
	wg        sync.WaitGroup
	fatal     chan error
}

// listenerState says whether a listener still accepts, for /healthz.
type listenerState struct {
	name string // "smtp 127.0.0.1:25"
	up   atomic.Bool
}

type boundListener struct {
	proto string
	l     net.Listener
}

func start(cfg *configs.Config, log *slog.Logger) (d *daemon, err error) {
	d = &daemon{log: log, fatal: make(chan error, 8), started: time.Now()}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	d.store, err = mailstore.Open(mailstore.Options{
		Path:   filepath.Join(cfg.DataDir, "maildock.db"),
		Logger: log.With("component", "mailstore"),
	})
	if err != nil {
		return nil, err
	}
	var bound []boundListener
	defer func() {
		if err != nil {
			for _, b := range bound {
				b.l.Close()
			}
			d.store.Close()
		}
	}()
	if cfg.TLS.CertFile != "" {
		d.certs, err = certs.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	} else {
		d.certs, err = certs.SelfSigned(cfg.DataDir, cfg.Hostname)
	}
	if err != nil {
		return nil, err
	}

	// One registry for the daemon's life: metrics survive reloads.
	d.registry = prometheus.NewRegistry()
	d.metrics = metrics.New(d.registry)
	smtpOpts, err := smtpOptions(cfg, d.store, d.certs, log.With("component", "smtp"))
	if err != nil {
		return nil, err
	}
	smtpOpts.Metrics = d.metrics
	d.smtp, err = inbound.New(smtpOpts)
	if err != nil {
		return nil, err
	}
	d.drop, err = pickup.New(pickup.Options{Store: d.store, Folders: pickupFolders(cfg), Logger: log.With("component", "pickup")})
	if err != nil {
		return nil, fmt.Errorf("drop folders: %w", err)
	}

	authOpts := authOptions(cfg, log.With("component", "auth"))
	authOpts.Metrics = d.metrics
	d.auth = auth.New(authOpts)
	popOpts := pop3Options(cfg, imapserve.NewPOP3Backend(d.store, d.auth, d.metrics, log.With("component", "pop3")), d.certs, log.With("component", "pop3"))
	popOpts.Metrics = d.metrics
	d.pop3 = pop3.New(popOpts)
	imapOpts := imapOptions(cfg, d.store, d.auth, d.certs, log.With("component", "imap"))
	imapOpts.Metrics = d.metrics
	if d.imap, err = imapserve.New(imapOpts); err != nil {
		return nil, err
	}

	// Bind everything before serving anything, so a port in use stops the
	// start with a clear error instead of a half-running server.
	for _, l := range []struct {
		proto string
		addrs []string
	}{
		{"smtp", cfg.SMTP.Listen}, {"smtps", cfg.SMTP.ListenTLS},
		{"imap", cfg.IMAP.Listen}, {"imaps", cfg.IMAP.ListenTLS},
		{"pop3", cfg.POP3.Listen}, {"pop3s", cfg.POP3.ListenTLS},
	} {
		for _, addr := range l.addrs {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.proto, err)
			}
			bound = append(bound, boundListener{l.proto, ln})
		}
	}
	var httpLn net.Listener
	if cfg.HTTP.Listen != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
		bound = append(bound, boundListener{"http", httpLn})
	}
	for _, b := range bound {
		log.Info("listening", "proto", b.proto, "addr", b.l.Addr().String())
		b := b
		switch b.proto {
		case "smtp":
			d.serve(b, d.smtp.Serve)
		case "smtps":
			d.serve(b, d.smtp.ServeTLS)
		case "imap":
			d.serve(b, d.imap.Serve)
		case "imaps":
			d.serve(b, d.imap.ServeTLS)
		case "pop3":
			d.serve(b, d.pop3.Serve)
		case "pop3s":
			d.serve(b, d.pop3.ServeTLS)
		case "http":
			d.http = &http.Server{Handler: d.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
			d.serve(b, d.http.Serve)
		}
	}
	d.health.Store(&d.listeners)
	var dropCtx context.Context
	dropCtx, d.stopDrop = context.WithCancel(context.Background())
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.drop.Run(dropCtx); err != nil {
			select {
			case d.fatal <- fmt.Errorf("drop folders: %w", err):
			default:
			}
		}
	}()
	d.accounts.Store(&cfg.Accounts)
	d.retention = retention.New(retention.Options{Store: d.store, Policies: retentionPolicies(cfg),
		Expired: d.metrics.Expired, Logger: log.With("component", "retention")})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.retention.Run(dropCtx)
	}()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-dropCtx.Done():
				return
			case <-t.C:
				d.flushLogins()
			}
		}
	}()
	if len(cfg.Submission.Listen)+len(cfg.Submission.ListenTLS)+len(cfg.PickupOut) > 0 {
		log.Warn("[submission] and [[pickup_out]] are not served by this version yet")
	}
	log.Info("maildock started", "version", version, "hostname", cfg.Hostname, "data_dir", cfg.DataDir, "accounts", len(cfg.Accounts), "domains", cfg.Domains())
	return d, nil
}

func (d *daemon) serve(b boundListener, fn func(net.Listener) error) {
	st := &listenerState{name: b.proto + " " + b.l.Addr().String()}
	st.up.Store(true)
	d.listeners = append(d.listeners, st)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := fn(b.l)
		st.up.Store(false)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			select {
			case d.fatal <- fmt.Errorf("%s %s: %w", b.proto, b.l.Addr(), err):
			default:
			}
		}
	}()
}

func (d *daemon) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(d.registry, d.store, d.drop, func() []configs.Account { return *d.accounts.Load() }))
	mux.HandleFunc("GET /status", d.serveStatus)
	mux.HandleFunc("GET /backup", d.serveBackup)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// A real commit: a full disk or a read-only remount shows here.
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := d.store.Ping(ctx); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		report := "store: writable\n"
		var listeners []*listenerState
		if p := d.health.Load(); p != nil {
			listeners = *p
		}
		for _, l := range listeners {
			if !l.up.Load() {
				http.Error(w, l.name+": not serving", http.StatusServiceUnavailable)
				return
			}
			report += l.name + ": serving\n"
		}
		fmt.Fprint(w, "ok\n"+report)
	})
	return mux
}

// shutdown stops accepting, lets SMTP transactions finish within grace
// (then 421), and closes the store last.
func (d *daemon) shutdown(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var errs []error
	if d.http != nil {
		if err := d.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	}
	if err := d.smtp.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, fmt.Errorf("smtp: %w", err))
	}
	// POP3 sessions end without committing their deletions (RFC 1939:
	// only QUIT does that).
	if err := d.pop3.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, fmt.Errorf("pop3: %w", err))
	}
	// IMAP sessions get BYE; their store changes are already committed.
	if err := d.imap.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, fmt.Errorf("imap: %w", err))
	}
	// The drop-folder writer stops after SMTP: what was accepted up to the
	// end is queued in the store and written at the next start if not now.
	d.stopDrop()
	d.wg.Wait()
	d.flushLogins()
	if err := d.store.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		d.log.Info("maildock stopped")
	}
	return errors.Join(errs...)
}

// reload re-reads the config on SIGHUP: recipients and the certificate.
// A broken config is logged and the running one kept.
func (d *daemon) reload(path string) {
	if path == "" {
		d.log.Info("SIGHUP: the development default has nothing to reload")
		return
	}
	cfg, err := configs.Load(path)
	if err != nil {
		d.log.Error("SIGHUP: new config is not valid; keeping the running one", "err", err.Error())
		return
	}
	d.smtp.SetDirectory(directory(cfg))
	d.auth.SetAccounts(authAccounts(cfg))
	d.retention.SetPolicies(retentionPolicies(cfg))
	d.accounts.Store(&cfg.Accounts)
	if err := d.drop.SetFolders(pickupFolders(cfg)); err != nil {
		d.log.Error("SIGHUP: drop folders not changed", "err", err)
	}
	if err := d.certs.Reload(); err != nil {
		d.log.Error("SIGHUP: certificate reload failed; keeping the old one", "err", err)
	}
	d.log.Info("SIGHUP: config reloaded (recipients, passwords, quotas, retention, drop folders, certificate); listener changes need a restart", "accounts", len(cfg.Accounts))
}
